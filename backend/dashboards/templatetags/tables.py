"""Table bodies rendered in one tag: a long table costs one template node, not a node per cell."""

import html
from decimal import Decimal

from django import template
from django.template.base import render_value_in_context
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import conditional_escape, json_script
from django.utils.safestring import mark_safe

register = template.Library()


def cell_text(value, context) -> str:
    """``{{ value }}`` of a table cell: text escaped, whole numbers and decimals as the template prints them
    without a thousands separator (the project's setting), anything else through the template's own rendering."""
    if type(value) is str:
        return html.escape(value)  # what django.utils.html.escape does, without its lazy-text wrapper per cell
    if isinstance(value, str):
        return conditional_escape(value)  # safe text as it is
    if isinstance(value, Decimal):
        return f"{value:f}"  # as django.utils.numberformat writes a decimal
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return render_value_in_context(value, context)


@register.simple_tag(takes_context=True)
def table_rows(context, rows) -> str:
    """``<tr><td>cell</td>…</tr>`` per row, each cell as ``{{ cell }}`` prints it."""
    return mark_safe(  # noqa: S308 (every cell escaped by cell_text)
        "\n".join("<tr>" + "".join(f"<td>{cell_text(cell, context)}</td>" for cell in row) + "</tr>" for row in rows)
    )


NO_VALUE = "\u2013"  # the en dash the pages show for a missing figure
ANY_ID = 987654321


@register.simple_tag
def student_rows(rows) -> str:
    """The students below the attendance threshold: per row the student's name opening their report, the class
    (or the dash), attendance, lessons attended / counted and days absent. The list grows with the school, so
    each row is one format: names escaped, numbers (whole numbers and 2-place decimals) as ``{{ value }}`` prints
    them without a thousands separator (the project's setting), the report's URL reversed once."""
    before, after = reverse("student-report", kwargs={"student_id": ANY_ID}).split(str(ANY_ID))
    return mark_safe(  # noqa: S308 (the only text, the name and the class, escaped)
        "\n".join(
            f'<tr data-student="{row["id"]:d}"><th scope="row"><a href="{before}{row["id"]:d}{after}">'
            f"{conditional_escape(row['name'])}</a></th><td>{conditional_escape(row['class_group'] or NO_VALUE)}</td>"
            f"<td>{row['attendance_percentage']:f}%</td><td>{row['lessons_attended']:d}/{row['lessons_counted']:d}</td>"
            f"<td>{row['days_absent']:d}</td></tr>"
            for row in rows
        )
    )


@register.simple_tag
def at_risk_rows(items) -> str:
    """The students at risk (``at_risk_items``): per student the name opening their report, the class (or the
    dash) and the list of their flags, each with its date; one format per row, the text escaped, the report's
    URL reversed once and each flag date formatted once (the flags of a school share the date they are as of)."""
    before, after = reverse("student-report", kwargs={"student_id": ANY_ID}).split(str(ANY_ID))
    dates = {}

    def as_of(day) -> str:
        if day not in dates:
            dates[day] = conditional_escape(date_format(day, "j M Y"))
        return dates[day]

    return mark_safe(  # noqa: S308 (the name, the class, the reasons and the flags' text escaped)
        "\n".join(
            f'<tr data-at-risk="{item["student"]["id"]:d}"><th scope="row">'
            f'<a href="{before}{item["student"]["id"]:d}{after}">{conditional_escape(item["student"]["name"])}</a>'
            f"</th><td>{conditional_escape((item['student']['class_group'] or {}).get('name') or NO_VALUE)}</td>"
            '<td><ul class="flag-list">'
            + "".join(
                f'<li data-flag="{conditional_escape(flag["reason"])}">{conditional_escape(flag["text"])} '
                f'<small class="muted">(as of {as_of(flag["as_of"])})</small></li>'
                for flag in item["flags"]
            )
            + "</ul></td></tr>"
            for item in items
        )
    )


@register.simple_tag(takes_context=True)
def missing_rows(context, teachers) -> str:
    """The missing data by teacher (``school_missing_data``'s teachers): per teacher the name, the weeks'
    totals, today's roll calls not taken of the lessons, and the comments missing (or the dash); each figure as
    ``{{ value }}`` prints it."""

    def cell(value) -> str:
        return cell_text(value, context)

    return mark_safe(  # noqa: S308 (every cell escaped by cell_text)
        "\n".join(
            f'<tr data-teacher="{row["teacher"]["id"]:d}"><th scope="row">{cell(row["teacher"]["name"])}</th>'
            f"<td>{cell(row['totals']['lessons_held'])}</td>"
            f'<td data-figure="without-roll-call">{cell(row["totals"]["lessons_without_roll_call"])}</td>'
            f'<td data-figure="homework-ungraded">{cell(row["totals"]["homework_overdue_ungraded"])}</td>'
            f"<td>{cell(row['totals']['submissions_ungraded'])}</td>"
            f'<td data-figure="roll-calls-today">{cell(row["today"]["roll_calls_not_taken"])} of '
            f"{cell(row['today']['lessons'])}</td>"
            '<td data-figure="comments-missing">'
            + (f"{cell(row['comments']['missing'])} of {cell(row['comments']['of'])}" if row["comments"] else NO_VALUE)
            + "</td></tr>"
            for row in teachers
        )
    )


@register.simple_tag(takes_context=True)
def teacher_week_rows(context, weeks) -> str:
    """The teacher's weeks with what is missing (``teacher_performance``'s weeks): per week its Monday, lessons
    held, without roll call, attendance at the marked lessons (with the lessons without roll call beside it) and
    the homework and submissions to grade; each figure as ``{{ value }}`` prints it, each date formatted as the
    template's ``date`` filter does."""

    def cell(value) -> str:
        return cell_text(value, context)

    rows = []
    for week in weeks:
        unmarked = week["lessons_without_roll_call"]
        attendance = week["average_student_attendance"]
        rows.append(
            f'<tr data-week="{date_format(week["week_start"], "Y-m-d")}"><th scope="row">'
            f"{date_format(week['week_start'], 'j M')}</th><td>{cell(week['lessons_held'])}</td>"
            f'<td data-figure="without-roll-call">{cell(unmarked)}</td>'
            f"<td>{NO_VALUE if attendance is None else cell(attendance) + '%'}"
            + (
                f' <small class="muted">({cell(unmarked)} lesson{"" if unmarked == 1 else "s"}'
                " without roll call)</small>"
                if unmarked
                else ""
            )
            + f'</td><td data-figure="homework-ungraded">{cell(week["homework_overdue_ungraded"])}</td>'
            f"<td>{cell(week['submissions_ungraded'])}</td></tr>"
        )
    return mark_safe("\n".join(rows))  # noqa: S308 (every figure through cell_text, the dates formatted)


@register.simple_tag(takes_context=True)
def chart(context, chart_id: str, title: str, spec: dict, small: bool = False, tall: bool = False) -> str:
    """A chart (``dashboards.charts``' spec) as a figure: its title, the canvas charts.js draws on, the spec as a
    JSON script and its numbers as a table; what ``{% include "dashboards/includes/chart.html" %}`` printed (the
    same HTML, in one tag: a page draws four or five of them)."""
    title = conditional_escape(title)
    table = spec["table"]
    columns = "".join(f'<th scope="col">{cell_text(column, context)}</th>' for column in table["columns"])
    if table["rows"]:
        body = f"          {table_rows(context, table['rows'])}\n          \n"
    else:
        body = f'          <tr><td colspan="{len(table["columns"])}">Nothing recorded yet.</td></tr>\n'
    box = "chart-box" + (" small" if small else "") + (" tall" if tall else "")
    return mark_safe(  # noqa: S308 (the title, the id, the caption and the columns escaped; cells by table_rows)
        '<figure class="chart">\n'
        f"  <figcaption>{title}</figcaption>\n"
        f'  <div class="{box}">\n'
        f'    <canvas data-chart="{conditional_escape(chart_id)}" role="img" aria-label="{title} (the numbers are in '
        'the table below)"></canvas>\n'
        "  </div>\n"
        f"  {json_script(spec, chart_id)}\n"
        '  <details class="numbers">\n'
        "    <summary>Numbers</summary>\n"
        '    <div class="table-scroll">\n'
        "      <table>\n"
        f"        <caption>{cell_text(table['caption'], context)}</caption>\n"
        f"        <thead><tr>{columns}</tr></thead>\n"
        "        <tbody>\n"
        f"{body}"
        "        </tbody>\n"
        "      </table>\n"
        "    </div>\n"
        "  </details>\n"
        "</figure>\n"
    )
