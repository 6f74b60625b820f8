from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError

from analytics.models import (
    EarlyWarningSettings,
    JobRun,
    SchoolDailySummary,
    StudentDailySummary,
    StudentFlag,
    StudentTermAttendance,
    StudentTermPerformance,
    StudentTermStanding,
    TeacherPerformanceMetric,
)
from analytics.services import (
    behavior_score_problem,
    behavior_score_set,
    early_warning_settings_delete,
    early_warning_settings_save,
    teacher_comment_set,
)
from core.admin import BoundedDateHierarchyMixin, related_search
from schools.admin import STUDENT_SEARCH


class SummaryRowAdmin(BoundedDateHierarchyMixin, admin.ModelAdmin):
    """Rows written by the analytics engine or its jobs: read-only here, except the teacher inputs."""

    teacher_inputs: tuple[str, ...] = ()

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        # A row is deleted with its student, term, teacher or school (by cascade), never on its own: Django
        # asks about each row of a cascade (obj given) and about the list's delete action (obj None).
        return obj is not None and super().has_delete_permission(request, obj)

    def delete_view(self, request, object_id, extra_context=None):
        raise PermissionDenied

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "show_delete": False})

    def has_change_permission(self, request, obj=None):
        return bool(self.teacher_inputs) and super().has_change_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields if not f.primary_key and f.name not in self.teacher_inputs]

    def save_model(self, request, obj, form, change):
        # Through the service the API uses: it writes the teacher input only (derived values recomputed
        # meanwhile are not overwritten), then recomputes the row, which removes a row that only the
        # cleared input kept.
        if form.changed_data:
            self.save_teacher_input(obj)

    def save_teacher_input(self, obj) -> None:
        raise NotImplementedError(f"{type(self).__name__} has teacher inputs but no service to save them")


class DailySummaryForm(forms.ModelForm):
    def clean_behavior_score(self):
        score = self.cleaned_data["behavior_score"]
        problem = behavior_score_problem(school=self.instance.school, score=score)
        if problem:
            raise ValidationError(problem)
        day = self.instance.date
        if not self.instance.school.terms.filter(start_date__lte=day, end_date__gte=day).exists():
            raise ValidationError(f"{day} is not within any term of the school.")
        return score


@admin.register(StudentDailySummary)
class StudentDailySummaryAdmin(SummaryRowAdmin):
    form = DailySummaryForm
    teacher_inputs = ("behavior_score",)
    list_display = (
        "student",
        "date",
        "attendance_status",
        "lessons_attended",
        "lessons_counted",
        "homework_due",
        "homework_completed",
        "behavior_score",
    )
    list_filter = ("school", "attendance_status", "homework_completed", "date")
    list_select_related = ("student",)
    search_fields = related_search("student", STUDENT_SEARCH)
    date_hierarchy = "date"

    def save_teacher_input(self, obj: StudentDailySummary) -> None:
        behavior_score_set(student=obj.student, day=obj.date, score=obj.behavior_score)


@admin.register(StudentTermPerformance)
class StudentTermPerformanceAdmin(SummaryRowAdmin):
    teacher_inputs = ("teacher_comment",)
    list_display = ("student", "term", "subject", "average_grade", "attendance_percentage", "rank", "rank_of")
    list_filter = ("school", "term", "subject")
    list_select_related = ("student", "term", "subject")
    search_fields = (*related_search("student", STUDENT_SEARCH), "subject__name")

    def save_teacher_input(self, obj: StudentTermPerformance) -> None:
        teacher_comment_set(student=obj.student, term=obj.term, subject=obj.subject, comment=obj.teacher_comment)


@admin.register(TeacherPerformanceMetric)
class TeacherPerformanceMetricAdmin(SummaryRowAdmin):
    list_display = (
        "teacher",
        "week_start",
        "classes_taught",
        "homeworks_assigned",
        "parent_communications",
        "average_student_attendance",
    )
    list_filter = ("school", "week_start")
    list_select_related = ("teacher__user",)
    search_fields = related_search("teacher__user", ("first_name", "last_name"))
    date_hierarchy = "week_start"


@admin.register(JobRun)
class JobRunAdmin(SummaryRowAdmin):
    list_display = (
        "job",
        "school",
        "period_start",
        "period_end",
        "status",
        "rows_changed",
        "started_at",
        "finished_at",
        "scheduled_for",
    )
    list_filter = ("job", "status", "school")
    list_select_related = ("school",)
    date_hierarchy = "started_at"
    search_fields = ("summary", "error", "worker")


@admin.register(StudentTermStanding)
class StudentTermStandingAdmin(SummaryRowAdmin):
    list_display = ("student", "term", "overall_average", "subjects_averaged", "rank", "rank_of")
    list_filter = ("school", "term")
    list_select_related = ("student", "term")
    search_fields = ("student__first_name", "student__last_name", "student__student_number")


@admin.register(StudentTermAttendance)
class StudentTermAttendanceAdmin(SummaryRowAdmin):
    list_display = ("student", "term", "days_marked", "days_absent", "lessons_counted", "attendance_percentage")
    list_filter = ("school", "term")
    list_select_related = ("student", "term")
    search_fields = related_search("student", STUDENT_SEARCH)


@admin.register(SchoolDailySummary)
class SchoolDailySummaryAdmin(SummaryRowAdmin):
    list_display = ("school", "date", "students_marked", "students_absent", "payments_received", "amount_invoiced")
    list_filter = ("school",)
    list_select_related = ("school",)
    date_hierarchy = "date"


@admin.register(StudentFlag)
class StudentFlagAdmin(SummaryRowAdmin):
    list_display = ("student", "reason", "as_of", "figures")
    list_filter = ("school", "reason", "as_of")
    list_select_related = ("student",)
    search_fields = related_search("student", STUDENT_SEARCH)


@admin.register(EarlyWarningSettings)
class EarlyWarningSettingsAdmin(admin.ModelAdmin):
    """A school's early-warning thresholds; saving recomputes the school's flags (docs/metrics.md)."""

    list_display = (
        "school",
        "attendance_below",
        "homework_missing",
        "grade_drop",
        "term_average_below",
        "behaviour_score_at_most",
        "flags_as_of",
    )
    list_select_related = ("school",)
    search_fields = ("school__name",)
    readonly_fields = ("flags_as_of",)

    def save_model(self, request, obj, form, change):
        early_warning_settings_save(settings=obj)

    def delete_model(self, request, obj):
        early_warning_settings_delete(settings=obj)

    def delete_queryset(self, request, queryset):
        for settings in queryset:
            early_warning_settings_delete(settings=settings)
