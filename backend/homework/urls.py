from django.urls import path

from homework.apis import GradeApi, HomeworkListApi, SubmissionListApi

urlpatterns = [
    path("homework/", HomeworkListApi.as_view(), name="homework-list"),
    path("homework/<int:homework_id>/submissions/", SubmissionListApi.as_view(), name="submission-list"),
    path("submissions/<int:submission_id>/grade/", GradeApi.as_view(), name="grade"),
]
