from django.urls import path

from analytics.apis import SchoolHealthApi, StudentOverviewApi, TeacherPerformanceApi

urlpatterns = [
    path("student/<int:student_id>/overview/", StudentOverviewApi.as_view(), name="student-overview"),
    path("teacher/my-performance/", TeacherPerformanceApi.as_view(), name="teacher-performance"),
    path("admin/school-health/", SchoolHealthApi.as_view(), name="school-health"),
]
