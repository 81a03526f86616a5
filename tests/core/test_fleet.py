"""Fleet registry: the example file is valid and loads; a bad entry is reported by its path."""

from __future__ import annotations

import copy
from datetime import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.db import Conn
from core.errors import FleetFileError
from core.fleet import load_fleet_file, parse_fleet
from core.fleet_repository import list_robots, region_summaries, upsert_fleet


@pytest.fixture(scope="module")
def fleet_doc(fleet_file: Path) -> dict[str, Any]:
    return yaml.safe_load(fleet_file.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_example_fleet_matches_the_manual(fleet_file: Path) -> None:
    """Five regions with the manual's leads, the HQ manager, 40+ sites of 1-4 robots each."""
    fleet = load_fleet_file(fleet_file)
    assert {r.name_zh for r in fleet.regions} == {"华北", "华东", "华南", "华中", "西南"}
    leads = {s.region: s.name for s in fleet.staff if s.role == "lead"}
    assert leads == {
        "north": "邓克明",
        "east": "郑竹子",
        "south": "任迎五",
        "central": "魏晨光",
        "southwest": "梁福杰",
    }
    assert any(s.role == "manager" for s in fleet.staff)
    assert len(fleet.sites) >= 40
    assert all(1 <= len(s.robots) <= 4 for s in fleet.sites)
    assert any(not s.hours["mon"] and s.hours["tue"] for s in fleet.sites), "one closed on Mondays"
    overnight = [
        iv for s in fleet.sites for ivs in s.hours.values() for iv in ivs if iv.closes <= iv.opens
    ]
    assert overnight, "some site is open past midnight"


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (
            lambda d: d["sites"][3]["robots"][0].__setitem__("model", "AIC-X9"),
            "sites[3].robots[0].model",
        ),
        (lambda d: d["sites"][2].__setitem__("region", "mars"), "sites[2].region"),
        (lambda d: d["sites"][1]["robots"][0].__setitem__("id", "BAD ID"), "sites[1].robots[0].id"),
        (
            lambda d: d["sites"][0]["hours"].__setitem__("default", ["25:00-26:00"]),
            "sites[0].hours",
        ),
        (lambda d: d["sites"][0].__setitem__("timezone", "Mars/Olympus"), "sites[0].timezone"),
        (
            lambda d: d["staff"].append(
                {"id": "x-lead", "name": "X", "role": "lead", "region": "north"}
            ),
            "staff[11].role",
        ),
        (
            lambda d: d["sites"][4]["robots"][0].__setitem__("install_date", "2001-01-01"),
            "sites[4].robots[0]",
        ),
        (lambda d: d["sites"][5].__setitem__("robots", []), "sites[5].robots"),
    ],
)
def test_bad_entry_is_reported_by_path(fleet_doc: dict[str, Any], mutate: Any, path: str) -> None:
    """Each kind of bad entry names its path and field."""
    doc = copy.deepcopy(fleet_doc)
    mutate(doc)
    with pytest.raises(FleetFileError) as info:
        parse_fleet(doc)
    assert info.value.path == path, str(info.value)


def test_duplicate_robot_across_sites(fleet_doc: dict[str, Any]) -> None:
    """A robot id used twice is refused at its second place."""
    doc = copy.deepcopy(fleet_doc)
    doc["sites"][6]["robots"].append(dict(doc["sites"][0]["robots"][0], serial="NEW-SERIAL"))
    with pytest.raises(FleetFileError) as info:
        parse_fleet(doc)
    assert info.value.path.startswith("sites[6].robots[")
    assert info.value.path.endswith(".id")


def test_hours_default_and_overnight() -> None:
    """`default` fills every weekday; overrides replace it; 17:00-02:00 is kept overnight."""
    from core.fleet import Site

    site = Site.model_validate(
        {
            "id": "site-x",
            "customer": "c",
            "region": "north",
            "name": "n",
            "city": "c",
            "address": "a",
            "hours": {"default": ["17:00-02:00"], "mon": []},
            "robots": [
                {
                    "id": "aic-x-1",
                    "serial": "s",
                    "model": "AIC-W1",
                    "purchase_date": "2025-01-01",
                    "install_date": "2025-01-02",
                    "firmware": "1",
                }
            ],
        }
    )
    assert site.hours["mon"] == []
    assert site.hours["sun"][0].opens == time(17) and site.hours["sun"][0].closes == time(2)


def test_load_and_summarise(conn: Conn, fleet_file: Path) -> None:
    """Loading the example fleet fills the registry; reloading updates, not duplicates."""
    fleet = load_fleet_file(fleet_file)
    counts = upsert_fleet(conn, fleet=fleet)
    again = upsert_fleet(conn, fleet=fleet)
    assert counts == again
    summaries = {r.code: r for r in region_summaries(conn)}
    assert summaries["north"].lead == "邓克明"
    assert sum(r.robots for r in summaries.values()) == counts.robots == len(list_robots(conn))
    hours = conn.execute("SELECT count(*) FROM site_service_hours").fetchone()
    assert hours is not None and hours[0] > counts.sites
    north = list_robots(conn, region="north")
    assert north and all(r.region == "north" for r in north)
    warranty = conn.execute(
        "SELECT count(*) FROM robots WHERE warranty_end <= purchase_date"
    ).fetchone()
    assert warranty == (0,)


def test_synthetic_fleet_is_valid_and_deterministic(fleet_file: Path) -> None:
    """`aic fleet synth` builds a valid fleet of exactly N robots, the same for a seed."""
    from core.fleet_synth import synthesize

    base = load_fleet_file(fleet_file)
    doc = synthesize(base, robots=250, seed=4)
    fleet = parse_fleet(doc)
    assert len(fleet.robots()) == 250
    assert {s.region for s in fleet.sites} == {r.code for r in base.regions}
    assert synthesize(base, robots=250, seed=4) == doc
