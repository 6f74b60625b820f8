"""The analytics endpoints: thin views over analytics.selectors, read from the summary tables only."""

import datetime
from collections.abc import Callable, Mapping
from decimal import Decimal

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from analytics import api_examples, exports, missing, progress, selectors, services
from analytics.definitions import week_start
from analytics.models import StudentFlag
from core.api import ScopedPrimaryKeyRelatedField
from core.bounds import id_field, query_date_field
from core.exports import CsvRenderer, csv_response
from schools.models import AcademicTerm, ClassGroup, School, Subject
from schools.permissions import HasRole, IsTeacher, IsTeacherOrAdmin
from schools.selectors import (
    Role,
    class_groups_visible_to,
    in_users_school,
    students_taught_by,
    students_visible_to,
    subjects_commentable_by,
    user_role,
)


class AnalyticsApi(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "analytics"


class CsvExportMixin:
    """``?format=csv``: the view streams one of its tables as CSV instead of the JSON (core.exports)."""

    renderer_classes = [*api_settings.DEFAULT_RENDERER_CLASSES, CsvRenderer]

    def wants_csv(self, request) -> bool:
        return getattr(request.accepted_renderer, "format", None) == "csv"


FORMAT_PARAMETER = OpenApiParameter(
    "format",
    str,
    enum=["json", "csv"],
    description="csv: the table named by `table` as a streamed CSV download (UTF-8, header row), "
    "the same figures and rounding as the JSON.",
)


def responses_with_csv(serializer, csv_description: str) -> dict:
    return {
        (200, "application/json"): serializer,
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description=csv_description),
    }


def representer(serializer: serializers.Serializer) -> Callable[[Mapping], dict]:
    """A function giving what ``serializer.__class__(data).data`` gives for the selectors' plain data, without a
    serializer instance per item: the fields are read once here, each value converted by its field's own
    ``to_representation`` (integers and text directly). The serializer keeps documenting the response (schema)."""
    parts = []
    for name, field in serializer.fields.items():
        if field.write_only:
            continue
        if field.source_attrs != [name]:
            raise ValueError(f"{name}: only fields read from their own key are supported")
        parts.append((name, _converter(field)))

    def represent(data: Mapping) -> dict:
        out = {}
        for name, convert in parts:
            value = data[name]
            out[name] = None if value is None else convert(value)
        return out

    return represent


def _converter(field: serializers.Field) -> Callable:
    if isinstance(field, serializers.ListSerializer):
        child = _converter(field.child)
        return lambda items: [child(item) for item in items]
    if isinstance(field, serializers.Serializer):
        return representer(field)
    if type(field) is serializers.IntegerField:
        return int
    if type(field) is serializers.CharField:
        return str
    if type(field) is serializers.DecimalField:
        return _decimal_converter(field)
    return field.to_representation


def _decimal_converter(field: serializers.DecimalField) -> Callable:
    """The field's ``to_representation``, with a short way for the usual value: a finite Decimal that has the
    field's places already and fits its digits, which the field's quantize would give back unchanged (the
    selectors' figures are rounded to 2 places already). Anything else goes to the field."""
    coerce = getattr(field, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING)
    if not coerce or field.localize or field.normalize_output or field.decimal_places is None:
        return field.to_representation
    exponent, digits = -field.decimal_places, field.max_digits

    def convert(value):
        if type(value) is Decimal:
            _sign, figures, places = value.as_tuple()
            if places == exponent and (digits is None or len(figures) <= digits):
                return f"{value:f}"
        return field.to_representation(value)

    return convert


class PeriodQuerySerializer(serializers.Serializer):
    # "from" is a Python keyword: declared below under its query-string name.
    to = query_date_field(required=False, help_text="Last date of the period (inclusive), YYYY-MM-DD.")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = query_date_field(required=False, help_text="First date of the period, YYYY-MM-DD.")
        return fields

    def validate(self, attrs):
        if attrs.get("from") and attrs.get("to") and attrs["from"] > attrs["to"]:
            raise serializers.ValidationError({"from": "The period starts after it ends."})
        return attrs


# --- student overview ---------------------------------------------------------------------------


class OverviewQuerySerializer(PeriodQuerySerializer):
    term = id_field(required=False, help_text="Term id; default the current term.")
    subject = id_field(required=False, help_text="Only this subject (id).")
    table = serializers.ChoiceField(
        choices=list(exports.OVERVIEW_TABLES),
        default="subjects",
        help_text="With format=csv, the table to export (default subjects).",
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        student = self.context["student"]
        # The school's terms, read with the student: the term asked for (or the current one) and the previous term
        # both come from this list.
        attrs["terms"] = self.context["terms"]
        if "term" in attrs:
            attrs["term"] = next((term for term in attrs["terms"] if term.pk == attrs["term"]), None)
            if attrs["term"] is None:
                raise serializers.ValidationError({"term": "No such term at the student's school."})
        else:
            attrs["term"] = selectors.current_term(school=student.school, terms=attrs["terms"])
        if "subject" in attrs and not Subject.objects.filter(pk=attrs["subject"], school=student.school).exists():
            raise serializers.ValidationError({"subject": "No such subject at the student's school."})
        return attrs


class NamedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class ClassGroupRefSerializer(NamedSerializer):
    grade_level = serializers.IntegerField()


class StudentRefSerializer(NamedSerializer):
    student_number = serializers.CharField()
    class_group = ClassGroupRefSerializer(allow_null=True)
    school = NamedSerializer()


class TermRefSerializer(NamedSerializer):
    start_date = serializers.DateField()
    end_date = serializers.DateField()


class PeriodSerializer(serializers.Serializer):
    to = serializers.DateField(allow_null=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateField(allow_null=True)
        return fields


def percent_field(help_text: str) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True, help_text=help_text)


class RankSerializer(serializers.Serializer):
    rank = serializers.IntegerField(allow_null=True, help_text="Position in class (1 = highest); nightly.")
    rank_of = serializers.IntegerField(allow_null=True, help_text="How many students were ranked.")
    rank_display = serializers.CharField(allow_null=True, help_text='For example "5th of 28".')


class OverallSerializer(RankSerializer):
    average_grade = percent_field("Mean of the subject averages (nightly).")


class SubjectPerformanceSerializer(RankSerializer):
    subject = NamedSerializer()
    average_grade = percent_field("Mean grade percentage for the term.")
    grades_count = serializers.IntegerField()
    attendance_percentage = percent_field("Attended / counted lessons of the subject x 100.")
    lessons_attended = serializers.IntegerField()
    lessons_counted = serializers.IntegerField()
    teacher_comment = serializers.CharField(allow_blank=True)


class GradePointSerializer(serializers.Serializer):
    date = serializers.DateField(help_text="The homework's due date.")
    subject_id = serializers.IntegerField()
    subject = serializers.CharField()
    homework = serializers.CharField()
    percentage = percent_field("score / max_score x 100.")


class GradeWeekSerializer(serializers.Serializer):
    week_start = serializers.DateField()
    subject_id = serializers.IntegerField()
    subject = serializers.CharField()
    average = percent_field("Mean grade percentage of the week's homework in the subject.")


class AttendanceWeekSerializer(serializers.Serializer):
    week_start = serializers.DateField()
    attended = serializers.IntegerField()
    counted = serializers.IntegerField()
    rate = percent_field("attended / counted x 100.")


class HomeworkTotalsSerializer(serializers.Serializer):
    due = serializers.IntegerField()
    on_time = serializers.IntegerField()
    late = serializers.IntegerField()
    missing = serializers.IntegerField()
    completion_rate = percent_field("on_time / due x 100.")


class BehaviorPointSerializer(serializers.Serializer):
    date = serializers.DateField()
    score = serializers.IntegerField()


class FlagSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=StudentFlag.Reason.choices)
    as_of = serializers.DateField(help_text="The date the flag holds as of (the school's flag date).")
    text = serializers.CharField(help_text="The reason in words, with its figures and the threshold.")
    figures = serializers.JSONField(help_text="The figures behind the flag and the thresholds (docs/metrics.md).")


class ProgressPointSerializer(serializers.Serializer):
    date = serializers.DateField()
    subject_id = serializers.IntegerField(allow_null=True, help_text="Null: the overall standing.")
    subject = serializers.CharField(allow_null=True)
    average = percent_field("The average as of the date (grades of homework due from the term's start to it).")
    rank = serializers.IntegerField(allow_null=True)
    rank_of = serializers.IntegerField(allow_null=True)


class TermOverTermSerializer(serializers.Serializer):
    previous_term = NamedSerializer()
    previous_average = percent_field("The overall average of the previous term.")
    previous_rank = serializers.IntegerField(allow_null=True)
    previous_rank_of = serializers.IntegerField(allow_null=True)
    average = percent_field("The overall average of this term (null without grades yet).")
    rank = serializers.IntegerField(allow_null=True)
    rank_of = serializers.IntegerField(allow_null=True)
    average_change = serializers.DecimalField(
        max_digits=6, decimal_places=2, allow_null=True, help_text="average - previous_average."
    )


class StudentOverviewSerializer(serializers.Serializer):
    student = StudentRefSerializer()
    term = TermRefSerializer(allow_null=True)
    period = PeriodSerializer()
    as_of = serializers.DateTimeField(allow_null=True, help_text="When the newest figure read was computed.")
    overall = OverallSerializer()
    subjects = SubjectPerformanceSerializer(many=True)
    grades = GradePointSerializer(many=True)
    grades_weekly = GradeWeekSerializer(many=True)
    progress = ProgressPointSerializer(
        many=True,
        help_text="The nightly standing snapshots of the term, by date: overall (subject null) and per subject.",
    )
    term_over_term = TermOverTermSerializer(
        allow_null=True, help_text="The overall standing beside the previous term's; null without an earlier one."
    )
    attendance_weekly = AttendanceWeekSerializer(many=True)
    homework = HomeworkTotalsSerializer()
    behavior = BehaviorPointSerializer(many=True)
    flags = FlagSerializer(many=True, help_text="The early-warning rules that hold, as of the school's flag date.")


# The overview's long lists (grades, weeks, progress) are converted without a serializer instance per item.
represent_overview = representer(StudentOverviewSerializer())


class AnyRole(HasRole):
    roles = frozenset(Role) - {Role.NONE}


class StudentOverviewApi(CsvExportMixin, AnalyticsApi):
    permission_classes = [AnyRole]

    @extend_schema(
        summary="A student's report: averages, ranks, attendance, grades over time, homework, behaviour",
        parameters=[OverviewQuerySerializer, FORMAT_PARAMETER],
        responses=responses_with_csv(
            StudentOverviewSerializer,
            "One table of the report (`table`: subjects, grades, grades_weekly, attendance_weekly or behavior), "
            "one row per item of the JSON list of that name.",
        ),
        examples=[
            OpenApiExample("A student of the demo school", value=api_examples.STUDENT_OVERVIEW, response_only=True)
        ],
    )
    def get(self, request, student_id: int):
        """A student sees themself, a guardian their children, a teacher the students of their classes, an
        admin the students of their school; any other student is 404."""
        found = selectors.student_with_terms(students=students_visible_to(user=request.user), student_id=student_id)
        if found is None:
            raise Http404("No Student matches the given query.")  # as get_object_or_404 says it
        student, terms = found
        query = OverviewQuerySerializer(data=request.query_params, context={"student": student, "terms": terms})
        query.is_valid(raise_exception=True)
        data = selectors.student_overview(
            student=student,
            term=query.validated_data["term"],
            subject_id=query.validated_data.get("subject"),
            date_from=query.validated_data.get("from"),
            date_to=query.validated_data.get("to"),
            terms=query.validated_data["terms"],
        )
        body = represent_overview(data)
        if self.wants_csv(request):
            table = exports.OVERVIEW_TABLES[query.validated_data["table"]]
            term = f"term-{data['term']['id']}" if data["term"] else "no-term"
            return csv_response(
                table=table, items=body[table.name], filename=f"student-{student.pk}-{term}-{table.name}.csv"
            )
        return Response(body)


# --- teacher performance ------------------------------------------------------------------------


MAX_WEEKS = 104


class TeacherPerformanceQuerySerializer(PeriodQuerySerializer):
    weeks = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_WEEKS, default=8, help_text="How many weeks (default 8)."
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        if attrs.get("from") and attrs.get("to") and (attrs["to"] - attrs["from"]).days > 7 * MAX_WEEKS:
            raise serializers.ValidationError({"to": f"At most {MAX_WEEKS} weeks at a time."})
        return attrs


class MetricsSerializer(serializers.Serializer):
    classes_taught = serializers.DecimalField(max_digits=8, decimal_places=1, allow_null=True)
    homeworks_assigned = serializers.DecimalField(max_digits=8, decimal_places=1, allow_null=True)
    parent_communications = serializers.DecimalField(max_digits=8, decimal_places=1, allow_null=True)
    average_student_attendance = percent_field("attended / counted marks at the lessons x 100.")


class TeacherWeekSerializer(serializers.Serializer):
    week_start = serializers.DateField(help_text="Monday.")
    classes_taught = serializers.IntegerField()
    homeworks_assigned = serializers.IntegerField()
    parent_communications = serializers.IntegerField()
    average_student_attendance = percent_field(
        "attended / counted marks at the teacher's lessons x 100; over the marked lessons only (see "
        "lessons_without_roll_call)."
    )
    school_median = MetricsSerializer(help_text="The median over the school's teachers that week.")
    lessons_held = serializers.IntegerField(help_text="The teacher's lessons of the week dated up to today.")
    lessons_without_roll_call = serializers.IntegerField(help_text="Of lessons_held, those with no mark at all.")
    homework_overdue_ungraded = serializers.IntegerField(
        help_text="Homework due in the week, more than 7 days before today, with a submission not graded."
    )
    submissions_ungraded = serializers.IntegerField(help_text="The ungraded submissions of that homework.")


class TeacherRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class TeacherTodaySerializer(serializers.Serializer):
    date = serializers.DateField(help_text="Today in the school's time zone.")
    lessons = serializers.IntegerField(help_text="The teacher's lessons of today.")
    roll_calls_not_taken = serializers.IntegerField(help_text="Of those, the lessons with no mark yet.")


class CommentsMissingSerializer(serializers.Serializer):
    term = TermRefSerializer()
    missing = serializers.IntegerField(help_text="Comments not written yet.")
    of = serializers.IntegerField(
        help_text="Comments expected: one per active student of each class and subject the teacher is assigned."
    )


class TeacherPerformanceSerializer(serializers.Serializer):
    teacher = TeacherRefSerializer()
    as_of = serializers.DateTimeField(allow_null=True)
    weeks = TeacherWeekSerializer(many=True)
    today = TeacherTodaySerializer()
    comments = CommentsMissingSerializer(
        allow_null=True, help_text="In the last two weeks of a term only: the term's teacher comments still missing."
    )


represent_teacher_performance = representer(TeacherPerformanceSerializer())


class TeacherPerformanceApi(CsvExportMixin, AnalyticsApi):
    permission_classes = [IsTeacher]

    @extend_schema(
        summary="The requesting teacher's weekly metrics, beside the school's median",
        parameters=[TeacherPerformanceQuerySerializer, FORMAT_PARAMETER],
        responses=responses_with_csv(
            TeacherPerformanceSerializer,
            "The weeks, one row each: the teacher's metrics, then the school's median of each "
            "(school_median_<metric>).",
        ),
        examples=[
            OpenApiExample("A teacher of the demo school", value=api_examples.TEACHER_PERFORMANCE, response_only=True)
        ],
    )
    def get(self, request):
        query = TeacherPerformanceQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        teacher = user_role(user=request.user).profile
        weeks = selectors.teacher_weeks(
            teacher=teacher,
            count=query.validated_data["weeks"],
            date_from=query.validated_data.get("from"),
            date_to=query.validated_data.get("to"),
        )
        if len(weeks) > MAX_WEEKS:
            # Only `from` given: the period runs to today, which the serializer does not know.
            raise serializers.ValidationError({"from": f"At most {MAX_WEEKS} weeks at a time (up to today)."})
        body = represent_teacher_performance(selectors.teacher_performance(teacher=teacher, weeks=weeks))
        if self.wants_csv(request):
            return csv_response(
                table=exports.TEACHER_WEEKS, items=body["weeks"], filename=f"teacher-{teacher.pk}-weeks.csv"
            )
        return Response(body)


# --- school health ------------------------------------------------------------------------------


class SchoolHealthQuerySerializer(PeriodQuerySerializer):
    school = id_field(
        required=False, help_text="School id; an admin's own school by default, every school for a superuser."
    )
    term = id_field(required=False, help_text="Term id; default the current term.")
    table = serializers.ChoiceField(
        choices=list(exports.HEALTH_TABLES),
        default="weekly",
        help_text="With format=csv, the table to export: weekly (default), or schools (one row per school with "
        "its own figures; every school for a superuser).",
    )


def money_field(help_text: str) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=14, decimal_places=2, help_text=help_text)


class TodaySerializer(serializers.Serializer):
    students_marked = serializers.IntegerField()
    students_present = serializers.IntegerField(help_text="Students whose day is PRESENT or LATE.")
    students_late = serializers.IntegerField()
    students_absent = serializers.IntegerField()
    students_excused = serializers.IntegerField()
    attendance_rate = percent_field("attended / counted lessons today x 100.")


class LowAttendanceSerializer(serializers.Serializer):
    threshold = serializers.DecimalField(max_digits=5, decimal_places=2)
    students = serializers.IntegerField(help_text="Students below the threshold for the term so far.")
    of = serializers.IntegerField(help_text="Students with any counted lesson in the term.")
    share = percent_field("students / of x 100.")


class HealthWeekSerializer(serializers.Serializer):
    week_start = serializers.DateField()
    revenue = money_field("Payments received in the week.")
    amount_billed = money_field("Invoices issued in the week.")
    attendance_rate = percent_field("attended / counted lessons x 100.")
    homework_completion_rate = percent_field("homework submitted on time / due x 100.")


class RollCallsTodaySerializer(serializers.Serializer):
    lessons = serializers.IntegerField(help_text="Lessons of today (in each school's time zone).")
    not_taken = serializers.IntegerField(help_text="Of those, the lessons with no mark yet.")


class SchoolHealthSerializer(serializers.Serializer):
    schools = NamedSerializer(many=True)
    term = TermRefSerializer(allow_null=True)
    period = PeriodSerializer()
    as_of = serializers.DateTimeField(allow_null=True)
    revenue = money_field("Payments received in the period (void invoices left out).")
    payments_count = serializers.IntegerField()
    amount_billed = money_field("Invoices issued in the period (void left out).")
    outstanding = money_field("Invoiced minus paid, everything up to the end of the period.")
    collection_rate = percent_field("Paid / invoiced x 100, everything up to the end of the period.")
    attendance_rate = percent_field("attended / counted lessons in the period x 100.")
    homework_completion_rate = percent_field("homework submitted on time / due in the period x 100.")
    today = TodaySerializer()
    students_count = serializers.IntegerField(help_text="Active students.")
    teachers_count = serializers.IntegerField()
    low_attendance = LowAttendanceSerializer(allow_null=True, help_text="Students below 90% attendance in the term.")
    roll_calls_today = RollCallsTodaySerializer()
    weekly = HealthWeekSerializer(many=True)


represent_school_health = representer(SchoolHealthSerializer())


class IsAdminOrOperator(HasRole):
    roles = frozenset({Role.SCHOOL_ADMIN, Role.DISTRICT_OPERATOR})


class SchoolHealthApi(CsvExportMixin, AnalyticsApi):
    permission_classes = [IsAdminOrOperator]

    @extend_schema(
        summary="School health: revenue, fees outstanding, attendance, homework, head counts, weekly trend",
        parameters=[SchoolHealthQuerySerializer, FORMAT_PARAMETER],
        responses=responses_with_csv(
            SchoolHealthSerializer,
            "`table=weekly`: the weekly trend, one row per week; `table=schools`: one row per school with that "
            "school's own figures (its current term unless `term` is given).",
        ),
        examples=[OpenApiExample("The demo school", value=api_examples.SCHOOL_HEALTH, response_only=True)],
    )
    def get(self, request):
        """An admin sees their own school; a superuser any school (`school`) or all of them together."""
        query = SchoolHealthQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        schools = in_users_school(School.objects.order_by("id"), user=request.user, school_field="pk")
        schools = selectors.schools_with_head_counts(schools)
        schools = [get_object_or_404(schools, pk=params["school"])] if "school" in params else list(schools)
        term = None
        if "term" in params:
            if len(schools) != 1:
                raise serializers.ValidationError({"term": "A term can only be given together with a school."})
            term = schools[0].terms.filter(pk=params["term"]).first()
            if term is None:
                raise serializers.ValidationError({"term": "No such term at this school."})
        elif len(schools) == 1:
            term = selectors.current_term(school=schools[0])
        if self.wants_csv(request) and params["table"] == "schools":
            return csv_response(
                table=exports.HEALTH_TABLES["schools"],
                items=self.each_school(schools, term=term, params=params),
                filename="school-health-schools.csv",
            )
        date_from, date_to = selectors.health_period(
            schools=schools, term=term, date_from=params.get("from"), date_to=params.get("to")
        )
        data = selectors.school_health(schools=schools, term=term, date_from=date_from, date_to=date_to)
        body = represent_school_health(data)
        if self.wants_csv(request):
            name = f"school-{schools[0].pk}" if len(schools) == 1 else "schools"
            return csv_response(
                table=exports.HEALTH_TABLES["weekly"], items=body["weekly"], filename=f"{name}-health-weekly.csv"
            )
        return Response(body)

    @staticmethod
    def each_school(schools, *, term, params):
        """Each school's own health, read as the CSV streams: the same figures as ``?school=<id>``."""
        for school in schools:
            own_term = term if term is not None else selectors.current_term(school=school)
            date_from, date_to = selectors.health_period(
                schools=[school], term=own_term, date_from=params.get("from"), date_to=params.get("to")
            )
            data = selectors.school_health(schools=[school], term=own_term, date_from=date_from, date_to=date_to)
            yield SchoolHealthSerializer(data).data


# --- students at risk ----------------------------------------------------------------------------


class AtRiskQuerySerializer(serializers.Serializer):
    school = id_field(required=False, help_text="School id: a superuser's choice (every school by default).")
    class_group = ScopedPrimaryKeyRelatedField(
        queryset=ClassGroup.objects.all(),
        scope=class_groups_visible_to,
        required=False,
        help_text="Only the students of this class (one the caller sees).",
    )
    reason = serializers.ChoiceField(
        choices=StudentFlag.Reason.choices, required=False, help_text="Only the students flagged for this reason."
    )


class AtRiskStudentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    student_number = serializers.CharField()
    class_group = NamedSerializer(allow_null=True)


class AtRiskItemSerializer(serializers.Serializer):
    student = AtRiskStudentSerializer()
    flags = FlagSerializer(many=True)


class AtRiskApi(CsvExportMixin, AnalyticsApi):
    permission_classes = [IsTeacherOrAdmin]
    pagination_class = PageNumberPagination

    @extend_schema(
        summary="Students at risk: every flagged student with the early-warning rules that hold and their figures",
        parameters=[AtRiskQuerySerializer, FORMAT_PARAMETER],
        responses={
            (200, "application/json"): AtRiskItemSerializer(many=True),
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description="One row per flag (a student with two reasons has two rows), unpaged."
            ),
        },
        examples=[OpenApiExample("The demo school", value=api_examples.AT_RISK, response_only=True)],
    )
    def get(self, request):
        """A teacher sees the students of their classes, an admin their school's, a superuser any school's."""
        query = AtRiskQuerySerializer(data=request.query_params, context={"request": request})
        query.is_valid(raise_exception=True)
        params = query.validated_data
        students = students_visible_to(user=request.user)
        if "school" in params:
            schools = in_users_school(School.objects.all(), user=request.user, school_field="pk")
            students = students.filter(school=get_object_or_404(schools, pk=params["school"]))
        if "class_group" in params:
            students = students.filter(class_group=params["class_group"])
        students = selectors.students_at_risk(students=students, reason=params.get("reason"))
        if self.wants_csv(request):
            rows = (
                {**item["student"], **flag}
                for item in selectors.at_risk_items(students=students)
                for flag in item["flags"]
            )
            return csv_response(table=exports.AT_RISK, items=rows, filename="students-at-risk.csv")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(students, request, view=self)
        body = AtRiskItemSerializer(selectors.at_risk_items(students=page), many=True).data
        return paginator.get_paginated_response(body)


# --- teacher inputs -----------------------------------------------------------------------------


class BehaviorScoreSerializer(serializers.Serializer):
    date = serializers.DateField(help_text="The school day, YYYY-MM-DD.")
    score = serializers.IntegerField(
        allow_null=True, help_text="Within the school's range (1 to 5 by default); null clears."
    )


class TeacherCommentSerializer(serializers.Serializer):
    term = id_field()
    subject = id_field()
    comment = serializers.CharField(allow_blank=True, max_length=5000, help_text="Empty clears the comment.")


class TeacherInputApi(APIView):
    """Base of the teacher-input endpoints: a teacher for students of classes they teach, an admin for their school."""

    permission_classes = [IsTeacherOrAdmin]

    def student(self, request, student_id: int):
        queryset = students_visible_to(user=request.user).select_related("school", "class_group")
        return get_object_or_404(queryset, pk=student_id)


class BehaviorScoreApi(TeacherInputApi):
    @extend_schema(
        summary="Set or clear a student's behaviour score for a day",
        request=BehaviorScoreSerializer,
        responses=BehaviorScoreSerializer,
    )
    def put(self, request, student_id: int):
        student = self.student(request, student_id)
        if not students_taught_by(user=request.user).filter(pk=student.pk).exists():
            # A behaviour score belongs to the student's day, not to a subject: any teacher assigned to the class.
            raise PermissionDenied("You have no teaching assignment in the student's class.")
        payload = BehaviorScoreSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        row = services.behavior_score_set(
            student=student, day=payload.validated_data["date"], score=payload.validated_data["score"]
        )
        score = row.behavior_score if row else None
        return Response(BehaviorScoreSerializer({"date": payload.validated_data["date"], "score": score}).data)


class TeacherCommentApi(TeacherInputApi):
    @extend_schema(
        summary="Set or clear the teacher's comment on a student's term in a subject",
        request=TeacherCommentSerializer,
        responses=TeacherCommentSerializer,
    )
    def put(self, request, student_id: int):
        student = self.student(request, student_id)
        payload = TeacherCommentSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        term = AcademicTerm.objects.filter(pk=data["term"], school_id=student.school_id).first()
        subject = Subject.objects.filter(pk=data["subject"], school_id=student.school_id).first()
        if term is None or subject is None:
            raise serializers.ValidationError(
                {
                    name: f"No such {name} at the student's school."
                    for name, found in (("term", term), ("subject", subject))
                    if found is None
                }
            )
        if not subjects_commentable_by(user=request.user, student=student).filter(pk=subject.pk).exists():
            raise PermissionDenied("You do not teach this subject to the student's class.")
        row = services.teacher_comment_set(student=student, term=term, subject=subject, comment=data["comment"])
        comment = row.teacher_comment if row else ""
        return Response(TeacherCommentSerializer({"term": term.pk, "subject": subject.pk, "comment": comment}).data)


# --- missing data (per teacher, for an admin) ---------------------------------------------------


MISSING_WEEKS_DEFAULT = 4


class MissingDataQuerySerializer(serializers.Serializer):
    school = id_field(required=False, help_text="School id: an admin's own by default; required for a superuser.")
    weeks = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_WEEKS,
        default=MISSING_WEEKS_DEFAULT,
        help_text=f"How many weeks, up to the week of `to` (default {MISSING_WEEKS_DEFAULT}).",
    )
    to = query_date_field(required=False, help_text="A date of the last week shown (default today), YYYY-MM-DD.")


class MissingWeekSerializer(serializers.Serializer):
    week_start = serializers.DateField(help_text="Monday.")
    lessons_held = serializers.IntegerField(help_text="Lessons of the week dated up to today.")
    lessons_without_roll_call = serializers.IntegerField(help_text="Of lessons_held, those with no mark at all.")
    homework_overdue_ungraded = serializers.IntegerField(
        help_text="Homework due in the week, more than 7 days before today, with a submission not graded."
    )
    submissions_ungraded = serializers.IntegerField(help_text="The ungraded submissions of that homework.")


class MissingTotalsSerializer(serializers.Serializer):
    lessons_held = serializers.IntegerField()
    lessons_without_roll_call = serializers.IntegerField()
    homework_overdue_ungraded = serializers.IntegerField()
    submissions_ungraded = serializers.IntegerField()


class TeacherTodayCountsSerializer(serializers.Serializer):
    lessons = serializers.IntegerField()
    roll_calls_not_taken = serializers.IntegerField()


class TeacherMissingSerializer(serializers.Serializer):
    teacher = TeacherRefSerializer()
    weeks = MissingWeekSerializer(many=True)
    totals = MissingTotalsSerializer(help_text="The weeks added up.")
    today = TeacherTodayCountsSerializer(help_text="The teacher's lessons of today and those without a roll call.")
    comments = CommentsMissingSerializer(allow_null=True, help_text="In the last two weeks of a term only.")


class MissingDataSerializer(serializers.Serializer):
    school = NamedSerializer()
    today = serializers.DateField(help_text="Today in the school's time zone.")
    weeks = serializers.ListField(child=serializers.DateField(), help_text="The Mondays of the weeks shown.")
    roll_calls_today = RollCallsTodaySerializer()
    teachers = TeacherMissingSerializer(many=True)


class MissingDataApi(CsvExportMixin, AnalyticsApi):
    permission_classes = [IsAdminOrOperator]

    @extend_schema(
        summary="Missing data per teacher: lessons without roll call, overdue ungraded homework, comments missing",
        parameters=[MissingDataQuerySerializer, FORMAT_PARAMETER],
        responses=responses_with_csv(
            MissingDataSerializer,
            "One row per teacher: the weeks' totals, today's roll calls not taken and the comments missing.",
        ),
    )
    def get(self, request):
        """An admin sees their own school; a superuser names the school."""
        query = MissingDataQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        schools = in_users_school(School.objects.all(), user=request.user, school_field="pk")
        if "school" in params:
            school = get_object_or_404(schools, pk=params["school"])
        elif user_role(user=request.user).role is Role.SCHOOL_ADMIN:
            school = get_object_or_404(schools)
        else:
            raise serializers.ValidationError({"school": "Name the school (its id)."})
        today = selectors.school_today(school=school)
        last = week_start(params.get("to") or today)
        weeks = [last - datetime.timedelta(weeks=back) for back in range(params["weeks"] - 1, -1, -1)]
        body = MissingDataSerializer(missing.school_missing_data(school=school, weeks=weeks, today=today)).data
        if self.wants_csv(request):
            return csv_response(
                table=exports.MISSING_TEACHERS, items=body["teachers"], filename=f"school-{school.pk}-missing-data.csv"
            )
        return Response(body)


# --- the most improved students ------------------------------------------------------------------


class MostImprovedQuerySerializer(serializers.Serializer):
    school = id_field(required=False, help_text="School id; required for a superuser, else the caller's school.")
    class_group = id_field(required=False, help_text="Only this class (id).")
    term = id_field(required=False, help_text="Term id; default the current term.")
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=100, default=progress.MOST_IMPROVED_LIMIT, help_text="How many."
    )


class ImprovedStudentSerializer(serializers.Serializer):
    student = NamedSerializer()
    class_group = NamedSerializer(allow_null=True)
    average_from = percent_field("Overall average at the earlier snapshot.")
    average_to = percent_field("Overall average at the latest snapshot.")
    change = serializers.DecimalField(max_digits=6, decimal_places=2, help_text="average_to - average_from.")


class MostImprovedSerializer(serializers.Serializer):
    term = NamedSerializer()
    # "from" is a Python keyword: declared in get_fields.
    to = serializers.DateField(allow_null=True, help_text="The latest snapshot date of the term.")
    students = ImprovedStudentSerializer(many=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = serializers.DateField(
            allow_null=True, help_text="The earlier snapshot date: the latest at least 28 days before `to`."
        )
        return fields


class MostImprovedApi(CsvExportMixin, AnalyticsApi):
    permission_classes = [IsTeacherOrAdmin]

    @extend_schema(
        summary="The students whose overall average rose most over the last 4 weeks (by the nightly snapshots)",
        parameters=[MostImprovedQuerySerializer, FORMAT_PARAMETER],
        responses=responses_with_csv(MostImprovedSerializer, "One row per student of the list."),
    )
    def get(self, request):
        """A teacher: the students of their classes; an admin: their school; a superuser: the school named."""
        query = MostImprovedQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        role = user_role(user=request.user)
        schools = in_users_school(School.objects.all(), user=request.user, school_field="pk")
        if "school" in params:
            school = get_object_or_404(schools, pk=params["school"])
        elif role.school_id is not None:
            school = get_object_or_404(schools, pk=role.school_id)
        else:
            raise serializers.ValidationError({"school": "Name the school (its id)."})
        students = students_visible_to(user=request.user).filter(school=school)
        if "class_group" in params:
            if not class_groups_visible_to(user=request.user).filter(pk=params["class_group"], school=school).exists():
                raise serializers.ValidationError({"class_group": "No such class among yours."})
            students = students.filter(class_group_id=params["class_group"])
        if "term" in params:
            term = school.terms.filter(pk=params["term"]).first()
            if term is None:
                raise serializers.ValidationError({"term": "No such term at this school."})
        else:
            term = selectors.current_term(school=school)
            if term is None:
                raise serializers.ValidationError({"term": "The school has no term."})
        data = progress.most_improved(term=term, students=students, limit=params["limit"])
        body = MostImprovedSerializer(data).data
        if self.wants_csv(request):
            return csv_response(
                table=exports.MOST_IMPROVED, items=body["students"], filename=f"term-{term.pk}-most-improved.csv"
            )
        return Response(body)
