from django.urls import path

from attendance.apis import LessonListApi, RollCallApi

urlpatterns = [
    path("lessons/", LessonListApi.as_view(), name="lesson-list"),
    path("lessons/<int:lesson_id>/roll-call/", RollCallApi.as_view(), name="roll-call"),
]
