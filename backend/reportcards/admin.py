"""Report-card jobs in the admin: a read-only list for the district operator (the admin site is superusers only)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from analytics.admin import SummaryRowAdmin
from reportcards import services
from reportcards.models import ReportCardJob


@admin.register(ReportCardJob)
class ReportCardJobAdmin(SummaryRowAdmin):
    """Jobs are started through the API or the pages and removed by the clean-up (or with their school or term):
    nothing is added, changed or deleted here."""

    list_display = (
        "id",
        "school",
        "term",
        "scope",
        "requested_by",
        "status",
        "progress",
        "created_at",
        "finished_at",
        "download",
    )
    list_filter = ("status", "school")
    list_select_related = ("school", "term", "class_group", "requested_by")
    search_fields = ("school__name", "class_group__name", "requested_by__username", "error")
    date_hierarchy = "created_at"

    @admin.display(description="Class", ordering="class_group__name")
    def scope(self, job: ReportCardJob) -> str:
        return job.class_group.name if job.class_group else "(whole school)"

    @admin.display(description="Progress")
    def progress(self, job: ReportCardJob) -> str:
        return f"{job.done}/{job.total}"

    @admin.display(description="File")
    def download(self, job: ReportCardJob) -> str:
        path = services.job_file(job)
        if path is None:
            return "–"
        url = reverse("report-card-job-download", kwargs={"job_id": job.pk})
        return format_html('<a href="{}">{}</a>', url, path.name)
