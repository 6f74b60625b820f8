"""The table tags print every cell exactly as the template loop they replace did."""

import datetime
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils.safestring import mark_safe

from analytics.selectors import students_below_attendance

LOOP = Template(
    "{% for row in rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>{% if not forloop.last %}\n"
    "{% endif %}{% endfor %}"
)
BELOW_LOOP = Template(
    "{% for row in rows %}"
    '<tr data-student="{{ row.id }}"><th scope="row"><a href="{% url \'student-report\' row.id %}">{{ row.name }}</a>'
    '</th><td>{{ row.class_group|default:"–" }}</td><td>{{ row.attendance_percentage }}%</td>'
    "<td>{{ row.lessons_attended }}/{{ row.lessons_counted }}</td><td>{{ row.days_absent }}</td></tr>"
    "{% if not forloop.last %}\n{% endif %}{% endfor %}"
)


def test_table_rows_prints_each_cell_as_the_template_does():
    rows = [
        ["Week of 7 Sep", 12, Decimal("85.70"), Decimal("1E+1"), None],
        ["<b>Tom & Jerry</b>", 0, Decimal("0.00"), 1.5, datetime.date(2026, 9, 7)],
        [mark_safe("<i>safe</i>"), True, -3, Decimal("-2.25"), ""],
        ['O\'Brien "Jo"', "a > b", "", "&amp;", "1 < 2"],  # quotes and entities, escaped as {{ }} does
    ]
    tag = Template("{% load tables %}{% table_rows rows %}")
    assert tag.render(Context({"rows": rows})) == LOOP.render(Context({"rows": rows}))
    assert "&lt;b&gt;Tom &amp; Jerry&lt;/b&gt;" in tag.render(Context({"rows": rows}))


def test_student_rows_prints_the_rows_as_the_template_did():
    rows = [
        {
            "id": 7,
            "name": "Ann <O'Brien>",
            "class_group": "7A & B",
            "attendance_percentage": Decimal("71.43"),
            "lessons_attended": 5,
            "lessons_counted": 7,
            "days_absent": 2,
        },
        {
            "id": 12,
            "name": "Ben Abara",
            "class_group": None,
            "attendance_percentage": Decimal("0.00"),
            "lessons_attended": 0,
            "lessons_counted": 1200,
            "days_absent": 0,
        },
    ]
    tag = Template("{% load tables %}{% student_rows rows %}")
    assert tag.render(Context({"rows": rows})) == BELOW_LOOP.render(Context({"rows": rows}))
    assert tag.render(Context({"rows": []})) == ""


@pytest.mark.django_db
def test_students_below_attendance_rows_name_the_student_and_class(hillcrest):
    # Worked out in analytics/tests/test_api_content.py: Ben attended 5 of 7 lessons.
    w = hillcrest
    rows = {row["id"]: row for row in students_below_attendance(term=w.term)}
    assert rows[w.ben.pk]["name"] == f"{w.ben.first_name} {w.ben.last_name}"
    assert rows[w.ben.pk]["class_group"] == w.ben.class_group.name
    assert (rows[w.ben.pk]["lessons_attended"], rows[w.ben.pk]["lessons_counted"]) == (5, 7)
    assert rows[w.ben.pk]["attendance_percentage"] == Decimal("71.43")


@pytest.mark.django_db
def test_each_page_reads_the_schools_terms_once_and_no_choices_through_a_cursor(hillcrest, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    w = hillcrest
    admin = w.admin.user
    pages = {
        f"/students/{w.ben.pk}/report/": admin,
        f"/classes/{w.klass.pk}/": w.moss.user,
        f"/schools/{w.school.pk}/health/": admin,
        "/teacher/": w.moss.user,  # the current term and the comments due, from one list
    }
    for path, user in pages.items():
        client.force_login(user)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200
        terms = [
            q["sql"]
            for q in queries.captured_queries
            if 'FROM "schools_academicterm"' in q["sql"] or '"school_term_id"' in q["sql"]
        ]
        # current_term takes the term selector's list: one read of the school's terms, which the select renders
        # (the report's: joined to the student's row, as the API's overview reads them).
        assert len(terms) == 1, (path, terms)
        assert not [q for q in queries.captured_queries if q["sql"].startswith("DECLARE")], path


@pytest.mark.django_db
def test_the_previous_term_is_the_same_from_the_pages_list_of_terms(hillcrest):
    from analytics.progress import previous_term
    from tests.factories import TermFactory

    w = hillcrest
    older = TermFactory(
        school=w.school,
        name="Term -1",
        start_date=datetime.date(2026, 1, 5),
        end_date=datetime.date(2026, 3, 27),
    )
    terms = list(w.school.terms.all())
    for term, expected in ((w.term, w.earlier_term), (w.earlier_term, older), (older, None)):
        assert previous_term(term=term) == expected
        assert previous_term(term=term, terms=terms) == expected


AT_RISK_LOOP = Template(
    "{% for item in rows %}"
    '<tr data-at-risk="{{ item.student.id }}"><th scope="row"><a href="{% url \'student-report\' item.student.id %}">'
    '{{ item.student.name }}</a></th><td>{{ item.student.class_group.name|default:"–" }}</td>'
    '<td><ul class="flag-list">{% for flag in item.flags %}<li data-flag="{{ flag.reason }}">{{ flag.text }} '
    '<small class="muted">(as of {{ flag.as_of|date:"j M Y" }})</small></li>{% endfor %}</ul></td></tr>'
    "{% if not forloop.last %}\n{% endif %}{% endfor %}"
)
MISSING_LOOP = Template(
    "{% for row in rows %}"
    '<tr data-teacher="{{ row.teacher.id }}"><th scope="row">{{ row.teacher.name }}</th>'
    "<td>{{ row.totals.lessons_held }}</td>"
    '<td data-figure="without-roll-call">{{ row.totals.lessons_without_roll_call }}</td>'
    '<td data-figure="homework-ungraded">{{ row.totals.homework_overdue_ungraded }}</td>'
    '<td>{{ row.totals.submissions_ungraded }}</td><td data-figure="roll-calls-today">'
    "{{ row.today.roll_calls_not_taken }} of {{ row.today.lessons }}</td>"
    '<td data-figure="comments-missing">{% if row.comments %}{{ row.comments.missing }} of {{ row.comments.of }}'
    "{% else %}–{% endif %}</td></tr>"
    "{% if not forloop.last %}\n{% endif %}{% endfor %}"
)


def test_at_risk_rows_prints_the_rows_as_the_template_did():
    flag = {"reason": "attendance", "as_of": datetime.date(2026, 9, 7), "text": "Attendance 80% < 90%"}
    rows = [
        {
            "student": {"id": 7, "name": "Ann <O'Brien>", "class_group": {"id": 3, "name": "7A & B"}},
            "flags": [flag, {"reason": "grades", "as_of": datetime.date(2026, 10, 1), "text": "Maths <40 & falling"}],
        },
        {"student": {"id": 12, "name": "Ben Abara", "class_group": None}, "flags": [flag]},
        {"student": {"id": 13, "name": "Cy", "class_group": {"id": 4, "name": ""}}, "flags": []},
    ]
    tag = Template("{% load tables %}{% at_risk_rows rows %}")
    assert tag.render(Context({"rows": rows})) == AT_RISK_LOOP.render(Context({"rows": rows}))
    assert "Ann &lt;O&#x27;Brien&gt;" in tag.render(Context({"rows": rows}))
    assert "(as of 1 Oct 2026)" in tag.render(Context({"rows": rows}))
    assert tag.render(Context({"rows": []})) == ""


def test_missing_rows_prints_the_rows_as_the_template_did():
    totals = {"lessons_held": 12, "lessons_without_roll_call": 3, "homework_overdue_ungraded": 0}
    rows = [
        {
            "teacher": {"id": 5, "name": "Ms <Moss> & co"},
            "totals": {**totals, "submissions_ungraded": 1200},
            "today": {"roll_calls_not_taken": 1, "lessons": 4},
            "comments": {"missing": 2, "of": 30},
        },
        {
            "teacher": {"id": 6, "name": "Mr Ode"},
            "totals": {**totals, "submissions_ungraded": 0},
            "today": {"roll_calls_not_taken": 0, "lessons": 0},
            "comments": None,
        },
    ]
    tag = Template("{% load tables %}{% missing_rows rows %}")
    assert tag.render(Context({"rows": rows})) == MISSING_LOOP.render(Context({"rows": rows}))
    assert "Ms &lt;Moss&gt; &amp; co" in tag.render(Context({"rows": rows}))
    assert tag.render(Context({"rows": []})) == ""


WEEKS_LOOP = Template(
    "{% for week in weeks %}"
    '<tr data-week="{{ week.week_start|date:"Y-m-d" }}"><th scope="row">{{ week.week_start|date:"j M" }}</th>'
    "<td>{{ week.lessons_held }}</td>"
    '<td data-figure="without-roll-call">{{ week.lessons_without_roll_call }}</td>'
    "<td>{% if week.average_student_attendance is None %}–{% else %}{{ week.average_student_attendance }}%{% endif %}"
    '{% if week.lessons_without_roll_call %} <small class="muted">({{ week.lessons_without_roll_call }} '
    "lesson{{ week.lessons_without_roll_call|pluralize }} without roll call)</small>{% endif %}</td>"
    '<td data-figure="homework-ungraded">{{ week.homework_overdue_ungraded }}</td>'
    "<td>{{ week.submissions_ungraded }}</td></tr>"
    "{% if not forloop.last %}\n{% endif %}{% endfor %}"
)


def test_teacher_week_rows_prints_the_rows_as_the_template_did():
    def week(day, held, unmarked, attendance, overdue, ungraded):
        return {
            "week_start": datetime.date(2026, 9, day),
            "lessons_held": held,
            "lessons_without_roll_call": unmarked,
            "average_student_attendance": attendance,
            "homework_overdue_ungraded": overdue,
            "submissions_ungraded": ungraded,
        }

    weeks = [
        week(7, 25, 0, Decimal("96.40"), 0, 0),
        week(14, 25, 1, Decimal("100.00"), 2, 31),
        week(21, 3, 3, None, 0, 0),
        week(28, 0, 0, None, 1, 1),
    ]
    tag = Template("{% load tables %}{% teacher_week_rows weeks %}").render(Context({"weeks": weeks}))
    assert tag == WEEKS_LOOP.render(Context({"weeks": weeks}))
    assert '<tr data-week="2026-09-14"><th scope="row">14 Sep</th><td>25</td>' in tag
    assert '100.00% <small class="muted">(1 lesson without roll call)</small>' in tag
    assert "<td>–  <small" not in tag and "(3 lessons without roll call)" in tag


# The include the chart tag replaced, as it was.
CHART_INCLUDE = Template(
    '{% load tables %}<figure class="chart">\n'
    "  <figcaption>{{ title }}</figcaption>\n"
    '  <div class="chart-box{% if small %} small{% endif %}{% if tall %} tall{% endif %}">\n'
    '    <canvas data-chart="{{ id }}" role="img" aria-label="{{ title }} (the numbers are in the table below)">'
    "</canvas>\n"
    "  </div>\n"
    "  {{ spec|json_script:id }}\n"
    '  <details class="numbers">\n'
    "    <summary>Numbers</summary>\n"
    '    <div class="table-scroll">\n'
    "      <table>\n"
    "        <caption>{{ spec.table.caption }}</caption>\n"
    '        <thead><tr>{% for column in spec.table.columns %}<th scope="col">{{ column }}</th>'
    "{% endfor %}</tr></thead>\n"
    "        <tbody>\n"
    "          {% if spec.table.rows %}{% table_rows spec.table.rows %}\n"
    '          {% else %}<tr><td colspan="{{ spec.table.columns|length }}">Nothing recorded yet.</td></tr>{% endif %}\n'
    "        </tbody>\n"
    "      </table>\n"
    "    </div>\n"
    "  </details>\n"
    "</figure>\n"
)


def test_chart_prints_the_figure_as_the_include_did():
    from dashboards import charts

    specs = [
        charts.homework_split({"on_time": 3, "late": 1, "missing": 0, "due": 4}),
        charts.chart(
            kind="bar", labels=[], datasets=[], table={"caption": "Empty <b>&", "columns": ["A", "B & <c>"], "rows": []}
        ),
        charts.chart(
            kind="line",
            labels=["x"],
            datasets=[{"label": "</script><b>", "data": [1.5]}],
            table={"caption": "C", "columns": ["W"], "rows": [["<i>", Decimal("1.50"), None, 3]]},
        ),
    ]
    tag = Template("{% load tables %}{% chart id title spec small=small tall=tall %}")
    for spec in specs:
        for small, tall in ((False, False), (True, False), (False, True)):
            context = {"id": "chart-x", "title": 'Title <&> "q"', "spec": spec, "small": small, "tall": tall}
            assert tag.render(Context(context)) == CHART_INCLUDE.render(Context(context))
    html = tag.render(Context({"id": "chart-x", "title": "T", "spec": specs[2], "small": False, "tall": False}))
    assert "\\u003C/script\\u003E\\u003Cb\\u003E" in html and "<td>&lt;i&gt;</td><td>1.50</td>" in html
