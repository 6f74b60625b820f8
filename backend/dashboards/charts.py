"""Chart specifications for the pages: the selectors' figures reshaped for the browser, no arithmetic.

Each spec is read by ``static/dashboards/js/charts.js`` from a ``json_script`` element and drawn with
Chart.js; its ``table`` is the same numbers as text, rendered under the chart (screen readers, copying).
Figures are drawn as floats (a chart has no use for exact decimals); the tables show the selectors' own
decimal strings.
"""

import datetime
import functools
from decimal import Decimal

from analytics.definitions import week_start

PERCENT_AXIS = {"min": 0, "max": 100, "suffix": "%"}


def _num(value: Decimal | int | None) -> float | None:
    return None if value is None else float(value)


def _text(value, suffix: str = "") -> str:
    return "–" if value is None else f"{value}{suffix}"


@functools.lru_cache(maxsize=4096)
def _week(day: datetime.date) -> str:
    """A week's label ("07 Dec"): asked for once per grade and week, so kept."""
    return day.strftime("%d %b")


def chart(*, kind: str, labels: list[str], datasets: list[dict], axis: dict | None = None, table: dict) -> dict:
    return {"type": kind, "labels": labels, "datasets": datasets, "axis": axis or {}, "table": table}


def grades_over_time(overview: dict) -> dict:
    """A line per subject through its weekly averages, and each grade a point (its homework on hover)."""
    weeks = sorted(
        {row["week_start"] for row in overview["grades_weekly"]} | {week_start(g["date"]) for g in overview["grades"]}
    )
    labels = [_week(week) for week in weeks]
    subjects = sorted({(row["subject"], row["subject_id"]) for row in overview["grades_weekly"]})
    datasets = []
    for name, subject_id in subjects:
        by_week = {
            row["week_start"]: row["average"] for row in overview["grades_weekly"] if row["subject_id"] == subject_id
        }
        datasets.append(
            {"label": name, "group": name, "data": [_num(by_week.get(week)) for week in weeks], "spanGaps": True}
        )
        datasets.append(
            {
                "type": "scatter",
                "label": f"{name} grades",
                "group": name,
                "legend": False,
                "data": [
                    {
                        "x": _week(week_start(g["date"])),
                        "y": _num(g["percentage"]),
                        "title": f"{g['homework']} (due {g['date']:%d %b})",
                    }
                    for g in overview["grades"]
                    if g["subject_id"] == subject_id
                ],
            }
        )
    return chart(
        kind="line",
        labels=labels,
        datasets=datasets,
        axis=PERCENT_AXIS,
        table={
            "caption": "Weekly average grade per subject (%)",
            "columns": ["Week of", "Subject", "Average %"],
            "rows": [[_week(r["week_start"]), r["subject"], _text(r["average"])] for r in overview["grades_weekly"]],
        },
    )


def attendance_weekly(overview: dict) -> dict:
    rows = overview["attendance_weekly"]
    return chart(
        kind="bar",
        labels=[_week(r["week_start"]) for r in rows],
        datasets=[{"label": "Attendance %", "data": [_num(r["rate"]) for r in rows]}],
        axis=PERCENT_AXIS,
        table={
            "caption": "Attendance by week",
            "columns": ["Week of", "Lessons attended", "Lessons counted", "Attendance %"],
            "rows": [[_week(r["week_start"]), r["attended"], r["counted"], _text(r["rate"])] for r in rows],
        },
    )


def homework_split(homework: dict) -> dict:
    parts = (("On time", homework["on_time"]), ("Late", homework["late"]), ("Missing", homework["missing"]))
    return chart(
        kind="doughnut",
        labels=[name for name, _ in parts],
        datasets=[{"label": "Homework", "data": [count for _, count in parts]}],
        table={
            "caption": f"Homework due: {homework['due']}",
            "columns": ["Handed in", "Homework"],
            "rows": [[name, count] for name, count in parts],
        },
    )


def behaviour(overview: dict, *, low: int, high: int) -> dict:
    points = overview["behavior"]
    return chart(
        kind="line",
        labels=[p["date"].strftime("%d %b") for p in points],
        datasets=[{"label": "Behaviour score", "data": [p["score"] for p in points]}],
        axis={"min": low, "max": high},
        table={
            "caption": f"Behaviour scores ({low} to {high})",
            "columns": ["Date", "Score"],
            "rows": [[p["date"].strftime("%a %d %b"), p["score"]] for p in points],
        },
    )


TEACHER_CHARTS = (
    ("classes_taught", "Lessons taught", None),
    ("homeworks_assigned", "Homework set", None),
    ("parent_communications", "Messages to parents", None),
    ("average_student_attendance", "Attendance at my lessons %", PERCENT_AXIS),
)


def teacher_metrics(performance: dict) -> list[dict]:
    """One chart per metric: the teacher's weeks beside the school's median."""
    weeks = performance["weeks"]
    labels = [_week(w["week_start"]) for w in weeks]
    result = []
    for name, title, axis in TEACHER_CHARTS:
        result.append(
            {
                "name": name,
                "title": title,
                "spec": chart(
                    kind="bar",
                    labels=labels,
                    datasets=[
                        {"label": "Me", "data": [_num(w[name]) for w in weeks]},
                        {"label": "School median", "data": [_num(w["school_median"][name]) for w in weeks]},
                    ],
                    axis=axis,
                    table={
                        "caption": f"{title}: mine and the school's median, by week",
                        "columns": ["Week of", "Me", "School median"],
                        "rows": [
                            [_week(w["week_start"]), _text(w[name]), _text(w["school_median"][name])] for w in weeks
                        ],
                    },
                ),
            }
        )
    return result


def health_money(health: dict) -> dict:
    rows = health["weekly"]
    return chart(
        kind="bar",
        labels=[_week(r["week_start"]) for r in rows],
        datasets=[
            {"label": "Revenue", "data": [_num(r["revenue"]) for r in rows]},
            {"label": "Billed", "data": [_num(r["amount_billed"]) for r in rows]},
        ],
        table={
            "caption": "Revenue and billing by week",
            "columns": ["Week of", "Revenue", "Billed"],
            "rows": [[_week(r["week_start"]), r["revenue"], r["amount_billed"]] for r in rows],
        },
    )


def health_rates(health: dict) -> dict:
    rows = health["weekly"]
    return chart(
        kind="line",
        labels=[_week(r["week_start"]) for r in rows],
        datasets=[
            {"label": "Attendance %", "data": [_num(r["attendance_rate"]) for r in rows]},
            {"label": "Homework on time %", "data": [_num(r["homework_completion_rate"]) for r in rows]},
        ],
        axis=PERCENT_AXIS,
        table={
            "caption": "Attendance and homework completion by week",
            "columns": ["Week of", "Attendance %", "Homework on time %"],
            "rows": [
                [_week(r["week_start"]), _text(r["attendance_rate"]), _text(r["homework_completion_rate"])]
                for r in rows
            ],
        },
    )


def classes_compared(classes: list[dict]) -> dict:
    return chart(
        kind="bar",
        labels=[c["name"] for c in classes],
        datasets=[
            {"label": "Attendance %", "data": [_num(c["attendance_rate"]) for c in classes]},
            {"label": "Average grade %", "data": [_num(c["average_grade"]) for c in classes]},
        ],
        axis=PERCENT_AXIS,
        table={
            "caption": "Classes compared (this term)",
            "columns": ["Class", "Students", "Attendance %", "Average grade %"],
            "rows": [
                [c["name"], c["students"], _text(c["attendance_rate"]), _text(c["average_grade"])] for c in classes
            ],
        },
    )


def schools_compared(rows: list[dict]) -> dict:
    return chart(
        kind="bar",
        labels=[r["school"]["name"] for r in rows],
        datasets=[
            {"label": "Attendance %", "data": [_num(r["health"]["attendance_rate"]) for r in rows]},
            {"label": "Homework on time %", "data": [_num(r["health"]["homework_completion_rate"]) for r in rows]},
            {"label": "Fees collected %", "data": [_num(r["health"]["collection_rate"]) for r in rows]},
        ],
        axis=PERCENT_AXIS,
        table={
            "caption": "Schools compared (current term)",
            "columns": ["School", "Attendance %", "Homework on time %", "Fees collected %"],
            "rows": [
                [
                    r["school"]["name"],
                    _text(r["health"]["attendance_rate"]),
                    _text(r["health"]["homework_completion_rate"]),
                    _text(r["health"]["collection_rate"]),
                ]
                for r in rows
            ],
        },
    )


def position_over_term(overview: dict) -> dict:
    """The overall position in class by snapshot date (1 at the top), with the overall average in the table."""
    rows = [row for row in overview["progress"] if row["subject_id"] is None]
    return chart(
        kind="line",
        labels=[_week(row["date"]) for row in rows],
        datasets=[{"label": "Position in class", "data": [_num(row["rank"]) for row in rows], "spanGaps": True}],
        axis={"min": 1, "reverse": True},
        table={
            "caption": "Overall position and average by date (nightly snapshots)",
            "columns": ["Date", "Position", "Of", "Average %"],
            "rows": [
                [_week(row["date"]), _text(row["rank"]), _text(row["rank_of"]), _text(row["average"])] for row in rows
            ],
        },
    )
