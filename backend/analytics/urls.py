from django.urls import path

from analytics.apis import (
    AtRiskApi,
    BehaviorScoreApi,
    MissingDataApi,
    MostImprovedApi,
    SchoolHealthApi,
    StudentOverviewApi,
    TeacherCommentApi,
    TeacherPerformanceApi,
)

urlpatterns = [
    path("student/<int:student_id>/overview/", StudentOverviewApi.as_view(), name="student-overview"),
    path("teacher/my-performance/", TeacherPerformanceApi.as_view(), name="teacher-performance"),
    path("student/<int:student_id>/behavior/", BehaviorScoreApi.as_view(), name="student-behavior"),
    path("student/<int:student_id>/teacher-comment/", TeacherCommentApi.as_view(), name="student-teacher-comment"),
    path("admin/school-health/", SchoolHealthApi.as_view(), name="school-health"),
    path("students/at-risk/", AtRiskApi.as_view(), name="students-at-risk"),
    path("admin/missing-data/", MissingDataApi.as_view(), name="missing-data"),
    path("students/most-improved/", MostImprovedApi.as_view(), name="most-improved"),
]
