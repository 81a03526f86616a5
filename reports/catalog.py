"""The reports the regional leads owe HQ (manual ch. 2, 组长职责 2–6), with CSV/XLSX export.

Every report is one entry of ``REPORTS``: its bilingual title, columns (Chinese for the
leads, English after), the period it takes (a month ``2026-11``, an ISO week
``2026-W48`` or none) and the function that builds its rows. The CLI (``aic report``),
the API (``/api/v1/reports/{name}``) and the dashboard (``/ui/reports``) all read this
table, so a report is defined once. Periods are calendar months/weeks in China time
(Asia/Shanghai), the time the leads and HQ keep.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.db import Conn
from reports import builders as b
from reports.export import Columns
from reports.periods import Period, bounds


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    period: Period
    columns: Columns
    build: b.Builder
    chart: tuple[str, str] | None = None  # (label column, value column) for the dashboard
    no_total: tuple[str, ...] = ()  # counts that do not add up across rows (distinct counts, ids)


REPORT_LIST = (
    Report(
        "monthly-faults",
        "月度故障统计分析报告 Monthly fault statistics",
        "month",
        (
            ("region", "区域 Region"),
            ("model", "机型 Model"),
            ("component", "部件 Component"),
            ("failures", "故障次数 Failures"),
            ("operating_hours", "运行小时 Operating hours"),
            ("mtbf_h", "平均故障间隔(小时) MTBF (h)"),
            ("repairs", "维修次数 Repairs"),
            ("mttr_h", "平均修复时间(小时) MTTR (h)"),
        ),
        b.monthly_faults,
        ("component", "failures"),
    ),
    Report(
        "equipment-tracking",
        "设备跟踪表 Equipment tracking sheet",
        "month",
        (
            ("region", "区域 Region"),
            ("customer", "客户 Customer"),
            ("site", "客户点 Site"),
            ("robot_id", "设备 Robot"),
            ("serial", "序列号 Serial"),
            ("model", "机型 Model"),
            ("install_date", "安装日期 Installed"),
            ("warranty_end", "保修截止 Warranty end"),
            ("commissioning", "调试 Commissioning"),
            ("firmware", "软件版本 Firmware"),
            ("last_seen", "最后在线 Last seen"),
            ("cycles_total", "累计炒菜次数 Cycles"),
            ("run_hours", "运行小时 Run hours"),
            ("failures", "本月故障 Failures"),
            ("orders_completed", "本月完工单 Orders completed"),
            ("open_orders", "未完工单 Open orders"),
            ("last_service", "最近服务 Last service"),
        ),
        b.equipment_tracking,
    ),
    Report(
        "distribution",
        "区域设备分布统计表 Regional equipment distribution",
        None,
        (
            ("region", "区域 Region"),
            ("model", "机型 Model"),
            ("robots", "设备数 Robots"),
            ("sites", "客户点 Sites"),
            ("customers", "客户 Customers"),
            ("in_warranty", "保内 In warranty"),
        ),
        b.equipment_distribution,
        ("model", "robots"),
        no_total=("sites", "customers"),  # a customer with two models is in two rows
    ),
    Report(
        "out-of-box",
        "开箱合格率 Out-of-box pass rate",
        None,
        (
            ("region", "区域 Region"),
            ("month", "安装月份 Month installed"),
            ("installed", "安装 Installed"),
            ("passed", "合格 Passed"),
            ("failed", "不合格 Failed"),
            ("pending", "待调试 Pending"),
            ("pass_rate", "开箱合格率 Out-of-box pass rate"),
        ),
        b.out_of_box,
    ),
    Report(
        "parts-replaced",
        "月度维修更换零配件统计表 Monthly parts replaced",
        "month",
        (
            ("region", "区域 Region"),
            ("part_code", "配件编号 Part"),
            ("name_zh", "配件名称 Name"),
            ("name_en", "Name (EN)"),
            ("qty", "更换数量 Qty replaced"),
            ("qty_in_warranty", "保内 In warranty"),
            ("qty_out_of_warranty", "保外 Out of warranty"),
            ("work_orders", "工单数 Work orders"),
            ("value", "金额(元) Value (CNY)"),
            ("returned", "坏料已回仓 Faulty returned"),
        ),
        b.parts_replaced,
        ("part_code", "qty"),
    ),
    Report(
        "service-quality",
        "日清日结、回访及满意度 Same-day fixes, callbacks and satisfaction",
        "month",
        (
            ("region", "区域 Region"),
            ("repairs", "报修 Repairs reported"),
            ("same_day", "当天修复 Fixed same day"),
            ("same_day_rate", "日清日结率 Same-day fix rate"),
            ("callbacks_due", "应回访 Callbacks due"),
            ("callbacks_done", "已回访 Callbacks done"),
            ("callbacks_on_time", "按时回访 On time"),
            ("callback_rate", "回访完成率 Callback completion"),
            ("satisfied", "满意 Satisfied"),
            ("unsatisfied", "不满意 Unsatisfied"),
            ("satisfaction", "满意率 Satisfaction"),
            ("rated", "评价数 Ratings"),
            ("avg_rating", "平均评分 Avg rating (1–5)"),
        ),
        b.service_quality,
        ("region", "same_day_rate"),
    ),
    Report(
        "weekly",
        "售后周报 Weekly report",
        "week",
        (
            ("region", "区域 Region"),
            ("created", "新工单 New orders"),
            ("completed", "完工 Completed"),
            ("repairs", "维修 Repairs"),
            ("preventive", "预防性维护 Preventive"),
            ("predictive", "预知性维护 Predictive"),
            ("installs_updates", "调试/软件更新 Commissioning & updates"),
            ("hours", "工时(小时) Hours worked"),
            ("open_items", "未完成 Open at week end"),
            ("overdue", "逾期 Overdue at week end"),
        ),
        b.weekly,
        ("region", "completed"),
    ),
    Report(
        "work-log",
        "工作日志 Technicians' work log",
        "week",
        (
            ("region", "区域 Region"),
            ("technician", "技工 Technician"),
            ("day", "日期 Date"),
            ("number", "工单号 Order"),
            ("type", "类型 Type"),
            ("robot_id", "设备 Robot"),
            ("site", "门店 Site"),
            ("minutes", "用时(分钟) Minutes"),
            ("by_phone", "电话指导 By phone"),
            ("training", "培训内容 Training given"),
        ),
        b.work_log,
        ("technician", "minutes"),
    ),
    Report(
        "consultations",
        "咨询记录 Consultations",
        "month",
        (
            ("region", "区域 Region"),
            ("customer", "客户 Customer"),
            ("robot_id", "设备 Robot"),
            ("at", "时间 Time"),
            ("channel", "来源 Channel"),
            ("question", "问题 Question"),
            ("answer", "解答 Answer"),
            ("answered_by", "解答人 Answered by"),
        ),
        b.consultations,
        no_total=("answered_by",),
    ),
    Report(
        "customer-file",
        "用户档案 Customer file",
        None,
        (
            ("region", "区域 Region"),
            ("customer_id", "客户编号 Customer ID"),
            ("customer", "客户 Customer"),
            ("contact", "联系人 Contact"),
            ("phone", "电话 Phone"),
            ("sites", "客户点 Sites"),
            ("robots", "设备数 Robots"),
            ("work_orders", "工单 Work orders"),
            ("open_orders", "未完工单 Open orders"),
            ("services", "服务记录 Services"),
            ("avg_rating", "平均评分 Avg rating"),
            ("charged", "收费合计(元) Charged (CNY)"),
            ("last_service", "最近服务 Last service"),
        ),
        b.customer_file,
        no_total=("avg_rating",),
    ),
    Report(
        "parts-stock",
        "区域备件库存 Regional parts stock",
        None,
        (
            ("region", "区域 Region"),
            ("part_code", "配件编号 Part"),
            ("name_zh", "配件名称 Name"),
            ("name_en", "Name (EN)"),
            ("unit", "单位 Unit"),
            ("on_hand", "库存 On hand"),
            ("min_level", "最低库存 Minimum"),
            ("below_min", "需补货 Below minimum"),
        ),
        b.parts_stock,
    ),
    Report(
        "faulty-returns",
        "坏料回仓 Faulty-part returns",
        None,
        (
            ("region", "区域 Region"),
            ("id", "编号 ID"),
            ("part_code", "配件编号 Part"),
            ("name_zh", "配件名称 Name"),
            ("qty", "数量 Qty"),
            ("work_order", "工单 Work order"),
            ("robot_id", "设备 Robot"),
            ("removed_at", "拆下时间 Removed"),
            ("received_at", "回仓时间 Back in warehouse"),
            ("days_out", "在外天数 Days out"),
        ),
        b.faulty_returns,
        no_total=("id", "days_out"),
    ),
    Report(
        "parts-forecast",
        "备件需求预测(30天) Parts forecast, next 30 days",
        None,
        (
            ("region", "区域 Region"),
            ("part_code", "配件编号 Part"),
            ("name_zh", "配件名称 Name"),
            ("needed", "预计需要 Needed"),
            ("open_orders", "相关工单 Open orders"),
            ("on_hand", "库存 On hand"),
            ("min_level", "最低库存 Minimum"),
            ("to_order", "建议补货 To order"),
        ),
        b.forecast,
        ("part_code", "needed"),
        no_total=("open_orders",),  # an order needing two parts is in two rows
    ),
    Report(
        "software-updates",
        "软件更新记录 Software updates",
        "month",
        (
            ("region", "区域 Region"),
            ("site", "客户地点 Site"),
            ("updated_on", "日期 Date"),
            ("model", "机型 Model"),
            ("quantity", "数量 Quantity"),
            ("version", "版本 Version"),
            ("from_version", "原版本 From"),
            ("operator", "操作人员 Operator"),
            ("source", "来源 Source"),
        ),
        b.software_records,
    ),
    Report(
        "firmware-versions",
        "软件版本分布 Firmware version distribution",
        None,
        (
            ("region", "区域 Region"),
            ("model", "机型 Model"),
            ("version", "版本 Version"),
            ("robots", "设备数 Robots"),
            ("share", "占比 Share"),
        ),
        b.versions,
        ("model_version", "robots"),
    ),
    Report(
        "firmware-quality",
        "各版本故障率 Fault rate per firmware version",
        None,
        (
            ("model", "机型 Model"),
            ("version", "版本 Version"),
            ("robot_days", "设备天数 Robot-days"),
            ("failures", "故障 Failures"),
            ("failures_per_100d", "故障/百台天 Failures per 100 robot-days"),
            ("anomalies", "异常 Anomalies"),
            ("anomalies_per_100d", "异常/百台天 Anomalies per 100 robot-days"),
            ("predecessor", "上一版本 Predecessor"),
            ("p_value", "显著性 p (rate excess)"),
            ("feature_shift", "指标变化 Indicator shift"),
            ("worse", "比上一版本差 Worse than predecessor"),
        ),
        b.version_rates,
        ("model_version", "failures_per_100d"),
    ),
)
REPORTS: dict[str, Report] = {r.name: r for r in REPORT_LIST}


def run(
    conn: Conn,
    name: str,
    *,
    now: datetime,
    region: str | None = None,
    period: str | None = None,
) -> list[dict[str, Any]]:
    """Build one report's rows as of ``now``; unknown names and bad periods are ValueErrors
    that say why."""
    report = REPORTS.get(name)
    if report is None:
        raise ValueError(f"unknown report {name!r}; reports: {', '.join(REPORTS)}")
    return report.build(conn, region, bounds(report.period, period), now)


def title(report: Report, period: str | None) -> str:
    return f"{report.title} {period}" if report.period and period else report.title
