from django.urls import path

from dashboards import views

urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", views.SignInView.as_view(), name="sign-in"),
    path("sign-out/", views.SignOutView.as_view(), name="sign-out"),
    path("children/", views.children, name="children"),
    path("students/<int:student_id>/report/", views.student_report, name="student-report"),
    path("teacher/", views.teacher_home, name="teacher-home"),
    path("classes/<int:class_group_id>/", views.class_page, name="class-page"),
    path("classes/<int:class_group_id>/report-cards/", views.class_report_cards, name="class-report-cards"),
    path("schools/", views.schools, name="schools"),
    path("schools/<int:school_id>/health/", views.school_health, name="school-health-page"),
    path("schools/<int:school_id>/report-cards/", views.school_report_cards, name="school-report-cards"),
]
