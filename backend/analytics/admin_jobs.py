"""Admin of the scheduled jobs' tables: the run record (read-only) and the overall standings the rank job fills.

Imported by ``analytics/admin.py`` so the admin's autodiscovery registers these.
"""

from django.contrib import admin

from analytics.models import JobRun, StudentTermStanding


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written by the jobs only: viewable, never added, changed or deleted by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
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
class StudentTermStandingAdmin(ReadOnlyAdmin):
    list_display = ("student", "term", "overall_average", "subjects_averaged", "rank", "rank_of")
    list_filter = ("school", "term")
    list_select_related = ("student", "term")
    search_fields = ("student__first_name", "student__last_name", "student__student_number")
