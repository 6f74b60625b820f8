from django.urls import path

from communication.apis import CommunicationListApi

urlpatterns = [
    path("communications/", CommunicationListApi.as_view(), name="communication-list"),
]
