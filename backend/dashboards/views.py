"""The pages people look at: thin views over the API's selectors and scope functions.

Every figure comes from ``analytics.selectors`` (the same functions the API serialises), every object is
looked up through ``schools.selectors``' scope functions (404 outside the caller's scope, as in the API),
and the teacher inputs go through ``analytics.services``, as the API's do. The views only pick the objects,
call the selectors and hand plain data to a template; ``dashboards.charts`` reshapes figures for drawing.
"""

import datetime
import functools
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.views.decorators.http import require_POST

from analytics import missing, progress, selectors
from analytics.definitions import week_start
from analytics.exports import OVERVIEW_TABLES
from core.exports import csv_response
from core.forms import SignInForm
from dashboards import charts, exports
from dashboards.forms import (
    BehaviourScoreForm,
    ReportQueryForm,
    SchoolHealthQueryForm,
    TeacherCommentForm,
    TermQueryForm,
)
from reportcards import selectors as card_selectors
from reportcards import services as card_services
from reportcards.models import ReportCardJob
from schools.models import AcademicTerm, School, Student
from schools.selectors import (
    Role,
    class_groups_visible_to,
    in_users_school,
    students_visible_to,
    subjects_commentable_by,
    user_role,
)

STAFF = (Role.TEACHER, Role.SCHOOL_ADMIN, Role.DISTRICT_OPERATOR)
ADMINS = (Role.SCHOOL_ADMIN, Role.DISTRICT_OPERATOR)
ANY_ROLE = tuple(role for role in Role if role is not Role.NONE)


class SignInView(auth_views.LoginView):
    """The pages' sign-in, within the sign-in limits of ``core`` (per account and per address, in the shared cache):
    the same form as the API's login and the admin's, so all three share one budget."""

    template_name = "dashboards/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True

    def form_invalid(self, form):
        locked = any(error.code == "locked" for error in form.errors.as_data().get("__all__", []))
        return self.render_to_response(self.get_context_data(form=form), status=429 if locked else 200)


class SignOutView(auth_views.LogoutView):
    """Sign out (POST only, with the CSRF token), then back to the sign-in page."""

    next_page = "sign-in"


def roles(*allowed: Role):
    """Login required (the sign-in page, then back); a signed-in user of another role gets 403, as in the API."""

    def decorate(view):
        @functools.wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            acting = user_role(user=request.user)
            if acting.role not in allowed:
                raise PermissionDenied
            request.acting = acting
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def bad_request(request, template: str, context: dict):
    return render(request, template, context, status=400)


def wants_csv(request) -> bool:
    """``?format=csv``: the page's table as a streamed CSV download instead of the page."""
    return request.GET.get("format") == "csv"


def api_csv(name: str, *, kwargs: dict | None = None, **params) -> str:
    """The API endpoint's CSV of a table the page shows, asked for with the page's own query."""
    query = {"format": "csv", **{key: value for key, value in params.items() if value is not None}}
    return f"{reverse(name, kwargs=kwargs)}?{urlencode(query)}"


def latest_job(request, *, school: School, class_group=None) -> dict | None:
    """The newest report-card job of the school (or of the class) the user may see, with its download link."""
    job = (
        card_selectors.jobs_visible_to(user=request.user)
        .filter(school=school, class_group=class_group)
        .order_by("-created_at", "-id")
        .first()
    )
    if job is None:
        return None
    succeeded = job.status == ReportCardJob.Status.SUCCEEDED and job.file_name
    return {
        "job": job,
        "download_url": reverse("report-card-job-download", kwargs={"job_id": job.pk}) if succeeded else None,
    }


@login_required
def home(request):
    """Each role's home page."""
    acting = user_role(user=request.user)
    match acting.role:
        case Role.GUARDIAN:
            return redirect("children")
        case Role.STUDENT:
            return redirect("student-report", student_id=acting.profile.pk)
        case Role.TEACHER:
            return redirect("teacher-home")
        case Role.SCHOOL_ADMIN:
            return redirect("school-health-page", school_id=acting.school_id)
        case Role.DISTRICT_OPERATOR:
            return redirect("schools")
    return render(request, "dashboards/no_role.html")


@roles(Role.GUARDIAN)
def children(request):
    """A card per child with the headline figures of the child's current term."""
    cards = []
    for student in (
        students_visible_to(user=request.user).select_related("school", "class_group").order_by("first_name", "pk")
    ):
        term = selectors.current_term(school=student.school)
        overview = selectors.student_overview(student=student, term=term)
        cards.append(
            {
                "overview": overview,
                "attendance": selectors.student_term_attendance(student=student, term=term),
            }
        )
    return render(request, "dashboards/children.html", {"cards": cards})


def _report_context(request, student, query: ReportQueryForm, forms: dict | None = None) -> dict:
    terms = query.school_terms()
    term = query.cleaned_data.get("term") or selectors.current_term(school=student.school, terms=terms)
    subject = query.cleaned_data.get("subject")
    overview = selectors.student_overview(
        student=student, term=term, subject_id=subject.pk if subject else None, terms=terms
    )
    school = student.school
    context = {
        "student": student,
        "query": query,
        "overview": overview,
        "attendance": selectors.student_term_attendance(student=student, term=term),
        # Every grade, its date formatted here: one template node for the list, not five per grade.
        "grade_rows": _grade_rows(overview["grades"]),
        "class_link": request.acting.role in STAFF,
        "csv": {
            table: api_csv(
                "student-overview",
                kwargs={"student_id": student.pk},
                table=table,
                term=term.pk if term else None,
                subject=subject.pk if subject else None,
            )
            for table in OVERVIEW_TABLES
        },
        "charts": {
            "grades": charts.grades_over_time(overview),
            "attendance": charts.attendance_weekly(overview),
            "homework": charts.homework_split(overview["homework"]),
            "behaviour": charts.behaviour(overview, low=school.behavior_score_min, high=school.behavior_score_max),
            "position": charts.position_over_term(overview),
        },
    }
    if request.acting.role in STAFF and term is not None:
        subjects = subjects_commentable_by(user=request.user, student=student)
        forms = forms or {}
        context["behaviour_form"] = forms.get("behaviour") or BehaviourScoreForm(student=student)
        context["comment_form"] = forms.get("comment") or TeacherCommentForm(
            student=student,
            term=term,
            subjects=subjects,
            # An admin comments in every subject of the school: the subject selector's list, not a second read.
            listed=query.school_subjects() if request.acting.role in ADMINS else None,
        )
    return context


def _grade_rows(grades: list[dict]) -> list[tuple]:
    """(due date as "Mon 7 Dec", subject, homework, percentage) per grade; each date formatted once (the grades of
    a term share a few dozen due dates)."""
    days = {}
    rows = []
    for grade in grades:
        day = grade["date"]
        text = days.get(day)
        if text is None:
            text = days[day] = date_format(day, "D j M")
        rows.append((text, grade["subject"], grade["homework"], grade["percentage"]))
    return rows


@roles(*ANY_ROLE)
def student_report(request, student_id: int):
    """A student's term report; for their teachers and admins also the behaviour and comment entry."""
    # The student and their school's terms in one query, as the API's overview reads them.
    found = selectors.student_with_terms(students=students_visible_to(user=request.user), student_id=student_id)
    if found is None:
        raise Http404("No Student matches the given query.")
    student, terms = found
    query = ReportQueryForm(request.GET, school=student.school, terms=terms)
    if not query.is_valid():
        return bad_request(request, "dashboards/bad_query.html", {"form": query})
    if request.method == "POST":
        if request.acting.role not in STAFF:
            raise PermissionDenied
        return _teacher_input(request, student, query)
    return render(request, "dashboards/report.html", _report_context(request, student, query))


def _teacher_input(request, student, query):
    term = query.cleaned_data.get("term") or selectors.current_term(school=student.school, terms=query.school_terms())
    if term is None:
        raise PermissionDenied
    which = request.POST.get("form")
    if which == "behaviour":
        form = BehaviourScoreForm(request.POST, student=student)
    elif which == "comment":
        form = TeacherCommentForm(
            request.POST,
            student=student,
            term=term,
            subjects=subjects_commentable_by(user=request.user, student=student),
        )
    else:
        return bad_request(request, "dashboards/bad_query.html", {"form": None})
    if form.is_valid():
        try:
            with transaction.atomic():
                form.save()
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Behaviour score saved." if which == "behaviour" else "Comment saved.")
            return HttpResponseRedirect(f"{request.get_full_path()}#{which}")
    context = _report_context(request, student, query, forms={which: form})
    return render(request, "dashboards/report.html", context, status=400)


@roles(Role.TEACHER)
def teacher_home(request):
    """The teacher's classes with their figures, and the teacher's weeks beside the school's median."""
    teacher = request.acting.profile
    terms = list(AcademicTerm.objects.filter(school_id=teacher.school_id))  # read once: the term, the comments due
    term = selectors.current_term(school=teacher.school, terms=terms)
    classes = selectors.classes_compared(term=term, teacher=teacher)  # a teacher's classes: their scope
    if wants_csv(request):
        return csv_response(table=exports.CLASSES_COMPARED, items=classes, filename=f"teacher-{teacher.pk}-classes.csv")
    performance = selectors.teacher_performance(
        teacher=teacher, weeks=selectors.teacher_weeks(teacher=teacher), terms=terms
    )
    return render(
        request,
        "dashboards/teacher.html",
        {
            "teacher": teacher,
            "term": term,
            "classes": classes,
            "performance": performance,
            "metric_charts": charts.teacher_metrics(performance),
            # The page shows the API's default 8 weeks up to this one: the same weeks as the API's CSV.
            "weeks_csv": api_csv("teacher-performance"),
        },
    )


# Column key -> (heading, the figure sorted on). Empty figures go last in either direction.
CLASS_COLUMNS = {
    "name": ("Student", lambda row: (row["name"].split()[-1].lower(), row["name"].lower())),
    "average": ("Average", lambda row: row["average_grade"]),
    "position": ("Position", lambda row: row["rank"]),
    "attendance": ("Attendance", lambda row: row["attendance_percentage"]),
    "homework": ("Homework on time", lambda row: row["homework"]["completion_rate"]),
    "flags": ("Flags", lambda row: len(row["flags"])),
}


def _sorted(rows: list[dict], sort: str) -> list[dict]:
    figure = CLASS_COLUMNS[sort.lstrip("-")][1]
    known = [row for row in rows if figure(row) is not None]
    return sorted(known, key=figure, reverse=sort.startswith("-")) + [row for row in rows if figure(row) is None]


@roles(*STAFF)
def class_page(request, class_group_id: int):
    """Every student of a class with their term figures, sortable, each linking to the student's report."""
    class_group = get_object_or_404(
        class_groups_visible_to(user=request.user).select_related("school"), pk=class_group_id
    )
    query = TermQueryForm(request.GET, school=class_group.school)
    if not query.is_valid():
        return bad_request(request, "dashboards/bad_query.html", {"form": query})
    term = query.cleaned_data.get("term") or selectors.current_term(
        school=class_group.school, terms=query.school_terms()
    )
    data = selectors.class_students(class_group_id=class_group.pk, term=term)
    sort = request.GET.get("sort", "name")
    if sort.lstrip("-") not in CLASS_COLUMNS:
        sort = "name"
    if wants_csv(request):
        return csv_response(
            table=exports.CLASS_STUDENTS,
            items=_sorted(data["students"], sort),
            filename=f"class-{class_group.pk}-{term.pk if term else 'no-term'}-students.csv",
        )
    return render(
        request,
        "dashboards/class.html",
        {
            "class_group": class_group,
            "term": term,
            "query": query,
            "as_of": data["as_of"],
            "students": _sorted(data["students"], sort),
            "sort": sort,
            "columns": [(key, heading) for key, (heading, _) in CLASS_COLUMNS.items()],
            "term_param": f"&term={term.pk}" if term and query.cleaned_data.get("term") else "",
            "report_cards": latest_job(request, school=class_group.school, class_group=class_group),
        },
    )


def _schools_in_scope(user):
    return in_users_school(School.objects.order_by("name", "pk"), user=user, school_field="pk")


# The long lists of school health, a page each: the students at risk and those below 90% 50 a page (the page
# size of the API's JSON lists), the teachers' missing data and the classes compared 20 a page; each list's CSV
# has every row.
AT_RISK_PAGE_SIZE = settings.REST_FRAMEWORK["PAGE_SIZE"]
BELOW_PAGE_SIZE = settings.REST_FRAMEWORK["PAGE_SIZE"]
MISSING_PAGE_SIZE = 20
CLASSES_PAGE_SIZE = 20


def page_link(request, param: str, number: int) -> str:
    """The page's URL with ``param`` set to ``number`` (left out for the first page), its other query kept."""
    query = request.GET.copy()
    query.pop(param, None)
    if number > 1:
        query[param] = number
    return f"?{query.urlencode()}" if query else request.path


def _paged(request, items, *, size: int, param: str, number: int | None, convert=list) -> dict:
    """One page of ``items`` (a list or a queryset, sliced for the page only), ``convert``-ed, with its place in
    the whole list and the links to the pages around it (``param``: the page's query parameter). A number past
    the end shows the last page, as the list may have shrunk since the link was made."""
    page = Paginator(items, size).get_page(number or 1)
    return {
        "items": convert(page.object_list),
        "count": page.paginator.count,
        "first": page.start_index(),
        "last": page.end_index(),
        "previous": page_link(request, param, page.number - 1) if page.has_previous() else None,
        "next": page_link(request, param, page.number + 1) if page.has_next() else None,
    }


def _at_risk(request, school: School, number: int | None) -> dict:
    """One page of the school's students at risk (by class, then name)."""
    students = selectors.students_at_risk(students=Student.objects.filter(school=school))
    return _paged(
        request,
        students,
        size=AT_RISK_PAGE_SIZE,
        param="at_risk_page",
        number=number,
        convert=lambda page: selectors.at_risk_items(students=page),
    )


def _below(request, term: AcademicTerm | None, number: int | None) -> dict:
    """One page of the students below 90% attendance in the term (lowest first)."""
    rows = selectors.students_below_attendance_rows(term=term) if term else []
    return _paged(request, rows, size=BELOW_PAGE_SIZE, param="below_page", number=number, convert=selectors.below_items)


def _classes(request, school: School, term: AcademicTerm | None, number: int | None) -> dict:
    """One page of the school's classes compared (by grade level, then name): only that page's figures read."""
    ids = school.class_groups.order_by("grade_level", "name", "pk").values_list("pk", flat=True)
    return _paged(
        request,
        ids,
        size=CLASSES_PAGE_SIZE,
        param="classes_page",
        number=number,
        convert=lambda page: selectors.classes_compared(term=term, class_group_ids=list(page)),
    )


def _health(school, term):
    date_from, date_to = selectors.health_period(schools=[school], term=term)
    return selectors.school_health(schools=[school], term=term, date_from=date_from, date_to=date_to)


@roles(*ADMINS)
def school_health(request, school_id: int):
    """School health: money, attendance today and by week, homework, students below 90%, classes compared."""
    school = get_object_or_404(_schools_in_scope(request.user), pk=school_id)
    query = SchoolHealthQueryForm(request.GET, school=school)
    if not query.is_valid():
        return bad_request(request, "dashboards/bad_query.html", {"form": query})
    terms = query.school_terms()
    term = query.cleaned_data.get("term") or selectors.current_term(school=school, terms=terms)
    if wants_csv(request):
        table = exports.SCHOOL_HEALTH_TABLES.get(request.GET.get("table", ""))
        if table is None:
            return bad_request(
                request,
                "dashboards/bad_query.html",
                {"form": None, "field": "table", "message": "Choose one of: below, classes."},
            )
        rows = (
            (selectors.students_below_attendance(term=term) if term else [])
            if table is exports.BELOW_ATTENDANCE
            else selectors.classes_compared(term=term, class_group_ids=school.class_groups.values_list("pk", flat=True))
        )
        name = f"school-{school.pk}-{term.pk if term else 'no-term'}-{table.name}.csv"
        return csv_response(table=table, items=rows, filename=name)
    health = _health(school, term)
    classes = _classes(request, school, term, query.cleaned_data.get("classes_page"))
    return render(
        request,
        "dashboards/school_health.html",
        {
            **_missing_and_improved(request, school, term, terms, query.cleaned_data.get("missing_page")),
            "school": school,
            "term": term,
            "query": query,
            "health": health,
            "below": _below(request, term, query.cleaned_data.get("below_page")),
            "at_risk": _at_risk(request, school, query.cleaned_data.get("at_risk_page")),
            "at_risk_csv": api_csv("students-at-risk", school=school.pk),
            "today_note": f"{health['today']['students_present']} of {health['today']['students_marked']} students in",
            "below_note": f"of {health['low_attendance']['of']} students" if health["low_attendance"] else None,
            "roll_calls_note": f"of {health['roll_calls_today']['lessons']} lessons today",
            "classes": classes,
            # A school with more classes than a page: the chart says which of them it shows.
            "classes_title": "Classes compared"
            + (
                f", {classes['first']}–{classes['last']} of {classes['count']}"
                if classes["next"] or classes["previous"]
                else ""
            ),
            "report_cards": latest_job(request, school=school),
            "term_param": f"&term={term.pk}" if term and query.cleaned_data.get("term") else "",
            "weekly_csv": api_csv("school-health", school=school.pk, term=term.pk if term else None, table="weekly"),
            "charts": {
                "money": charts.health_money(health),
                "rates": charts.health_rates(health),
                "classes": charts.classes_compared(classes["items"]),
            },
        },
    )


@roles(Role.DISTRICT_OPERATOR)
def schools(request):
    """Every school side by side (each in its current term), each linking to its school health."""
    rows = [
        {
            "school": {"id": school.pk, "name": school.name},
            "health": _health(school, selectors.current_term(school=school)),
        }
        for school in _schools_in_scope(request.user)
    ]
    return render(
        request,
        "dashboards/schools.html",
        {"rows": rows, "chart": charts.schools_compared(rows), "csv": api_csv("school-health", table="schools")},
    )


# --- report cards -------------------------------------------------------------------------------


def _job_term(request, school: School) -> AcademicTerm | None:
    """The term posted with a report-card form: a term of the school, else None (the form then answers 400)."""
    term_id = request.POST.get("term", "")
    return AcademicTerm.objects.filter(school=school, pk=term_id).first() if term_id.isdigit() else None


@require_POST
@roles(*ADMINS)
def school_report_cards(request, school_id: int):
    """Start the school's report cards (a zip of class PDFs, the API's job), then back to school health."""
    school = get_object_or_404(card_selectors.schools_printable_by(user=request.user), pk=school_id)
    term = _job_term(request, school)
    if term is None:
        return bad_request(
            request,
            "dashboards/bad_query.html",
            {"form": None, "field": "term", "message": "Choose a term of this school."},
        )
    card_services.report_card_job_start(user=request.user, school=school, term=term, class_group=None)
    messages.success(request, f"Report cards of {school.name}, {term.name}: started.")
    return redirect(f"{reverse('school-health-page', kwargs={'school_id': school.pk})}?term={term.pk}#report-cards")


@require_POST
@roles(*STAFF)
def class_report_cards(request, class_group_id: int):
    """Start a class's report cards (one PDF, the API's job), then back to the class page."""
    class_group = get_object_or_404(
        card_selectors.class_groups_printable_by(user=request.user).select_related("school"), pk=class_group_id
    )
    term = _job_term(request, class_group.school)
    if term is None:
        return bad_request(
            request,
            "dashboards/bad_query.html",
            {"form": None, "field": "term", "message": "Choose a term of this school."},
        )
    card_services.report_card_job_start(
        user=request.user, school=class_group.school, term=term, class_group=class_group
    )
    messages.success(request, f"Report cards of {class_group.name}, {term.name}: started.")
    return redirect(f"{reverse('class-page', kwargs={'class_group_id': class_group.pk})}?term={term.pk}#report-cards")


# --- missing data and progress on the school health page ----------------------------------------------

MISSING_WEEKS = 4


def _missing_and_improved(
    request, school: School, term: AcademicTerm | None, terms: list[AcademicTerm], missing_page: int | None
) -> dict:
    """One page of the teachers' missing data over the last 4 weeks (only that page's figures are counted) and
    the most improved students of the term (``terms``: the school's, read once by the page)."""
    today = selectors.school_today(school=school)
    this_week = week_start(today)
    weeks = [this_week - datetime.timedelta(weeks=back) for back in range(MISSING_WEEKS - 1, -1, -1)]
    return {
        "missing": _paged(
            request,
            missing.school_teachers(school=school),
            size=MISSING_PAGE_SIZE,
            param="missing_page",
            number=missing_page,
            convert=lambda page: missing.teacher_rows(
                school=school, teachers=page, weeks=weeks, today=today, terms=terms
            ),
        ),
        "missing_weeks": len(weeks),
        "missing_csv": api_csv("missing-data", school=school.pk, weeks=MISSING_WEEKS),
        "improved": progress.most_improved(term=term, students=school.students.all()) if term else None,
        "improved_csv": api_csv("most-improved", school=school.pk, term=term.pk if term else None),
    }
