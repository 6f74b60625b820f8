from django.urls import path

from schools.apis import MeApi

urlpatterns = [
    path("me/", MeApi.as_view(), name="me"),
]
