"""A synthetic fleet of any size, for simulations and benchmarks beyond the example fleet.

It keeps the example fleet's regions, staff and models and adds generated
customer sites (1-4 robots each) with realistic kitchen hours. Deterministic
for a seed.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from core.fleet import Fleet

CITIES: dict[str, list[tuple[str, str]]] = {
    "north": [("bj", "北京"), ("tj", "天津"), ("sjz", "石家庄"), ("ty", "太原"), ("jn", "济南")],
    "east": [("sh", "上海"), ("hz", "杭州"), ("nj", "南京"), ("su", "苏州"), ("nb", "宁波")],
    "south": [("sz", "深圳"), ("gz", "广州"), ("dg", "东莞"), ("fs", "佛山"), ("xm", "厦门")],
    "central": [("wh", "武汉"), ("cs", "长沙"), ("zz", "郑州"), ("nc", "南昌")],
    "southwest": [("cd", "成都"), ("cq", "重庆"), ("km", "昆明"), ("gy", "贵阳")],
}
HOURS: list[dict[str, list[str]]] = [
    {"default": ["10:30-14:00", "16:30-21:30"]},
    {"default": ["10:30-14:00", "16:30-21:30"], "mon": []},
    {"default": ["06:30-09:00", "10:45-13:30", "16:45-19:30"], "sat": [], "sun": []},
    {"default": ["17:00-02:00"], "sat": ["11:00-14:00", "17:00-03:00"]},
    {"default": ["10:00-22:00"]},
]


def synthesize(base: Fleet, *, robots: int, seed: int = 1, prefix: str = "syn") -> dict[str, Any]:
    """Return a fleet document (the YAML structure) with about ``robots`` robots."""
    rng = random.Random(f"synth:{seed}")
    doc = base.model_dump(mode="json", exclude={"customers", "sites"})
    models = [m.code for m in base.models]
    regions = [r.code for r in base.regions]
    customers: list[dict[str, Any]] = []
    sites: list[dict[str, Any]] = []
    n = 0
    site_no = 0
    while n < robots:
        site_no += 1
        region = regions[site_no % len(regions)]
        code, city = rng.choice(CITIES.get(region, [("xx", "城市")]))
        cust = f"{prefix}-cust-{site_no:05d}"
        customers.append(
            {"id": cust, "name": f"{city}餐饮{site_no:05d}号", "phone": "400-000-0000"}
        )
        count = min(rng.randint(1, 4), robots - n)
        site_robots = []
        for _ in range(count):
            n += 1
            purchase = date(2024, 1, 1) + timedelta(days=rng.randint(0, 900))
            site_robots.append(
                {
                    "id": f"{prefix}-{code}-{n:06d}",
                    "serial": f"SYN{n:08d}",
                    "model": rng.choice(models),
                    "purchase_date": purchase.isoformat(),
                    "install_date": (purchase + timedelta(days=rng.randint(0, 14))).isoformat(),
                    "firmware": rng.choice(["3.1.4", "3.2.0", "3.2.1"]),
                    "commissioning": "pass" if rng.random() > 0.05 else "fail",
                }
            )
        sites.append(
            {
                "id": f"{prefix}-site-{site_no:05d}",
                "customer": cust,
                "region": region,
                "name": f"{city}厨房{site_no:05d}",
                "city": city,
                "address": f"{city}市示例路{site_no}号",
                "timezone": "Asia/Shanghai",
                "hours": rng.choice(HOURS),
                "robots": site_robots,
            }
        )
    doc["customers"] = customers
    doc["sites"] = sites
    return doc
