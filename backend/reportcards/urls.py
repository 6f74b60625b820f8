from django.urls import path

from reportcards.views import JobDetailApi, JobDownloadApi, JobListApi, ReportCardPage, ReportCardPdf

# Mounted at the site root: the card (page and PDF) under reports/, the bulk jobs under api/reportcards/.
urlpatterns = [
    path("reports/student/<int:student_id>/term/<int:term_id>/card/", ReportCardPage.as_view(), name="report-card"),
    path(
        "reports/student/<int:student_id>/term/<int:term_id>/card.pdf",
        ReportCardPdf.as_view(),
        name="report-card-pdf",
    ),
    path("api/reportcards/jobs/", JobListApi.as_view(), name="report-card-jobs"),
    path("api/reportcards/jobs/<int:job_id>/", JobDetailApi.as_view(), name="report-card-job"),
    path("api/reportcards/jobs/<int:job_id>/download/", JobDownloadApi.as_view(), name="report-card-job-download"),
]
