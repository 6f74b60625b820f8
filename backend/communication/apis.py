import django_filters
from rest_framework import generics, serializers

from communication.models import Channel, Communication
from communication.selectors import communications_visible_to
from communication.services import communication_create
from core.api import ScopedModelChoiceFilter, ScopedPrimaryKeyRelatedField
from core.models import User
from schools.models import Guardian, Student
from schools.permissions import IsTeacherOrAdmin
from schools.selectors import (
    guardians_visible_to,
    guardians_writable_by,
    staff_users_visible_to,
    students_taught_by,
    students_visible_to,
)


class CommunicationSerializer(serializers.ModelSerializer):
    # A teacher logs messages to the guardians of the students they teach, about those students; an admin to any
    # guardian of their school.
    recipient = ScopedPrimaryKeyRelatedField(queryset=Guardian.objects.all(), scope=guardians_writable_by)
    student = ScopedPrimaryKeyRelatedField(
        queryset=Student.objects.all(), scope=students_taught_by, required=False, allow_null=True
    )

    class Meta:
        model = Communication
        fields = ["id", "school", "sender", "recipient", "student", "channel", "sent_at", "subject", "body"]
        read_only_fields = ["school", "sender"]
        extra_kwargs = {"sent_at": {"required": False, "help_text": "Defaults to now."}}


class CommunicationFilter(django_filters.FilterSet):
    recipient = ScopedModelChoiceFilter(model=Guardian, scope=guardians_visible_to)
    student = ScopedModelChoiceFilter(model=Student, scope=students_visible_to)
    sender = ScopedModelChoiceFilter(model=User, scope=staff_users_visible_to)
    channel = django_filters.ChoiceFilter(choices=Channel.choices)

    class Meta:
        model = Communication
        fields = ["recipient", "student", "channel", "sender"]


class CommunicationListApi(generics.ListCreateAPIView):
    """The log of communications with guardians; the requester is the sender of what they log."""

    permission_classes = [IsTeacherOrAdmin]
    serializer_class = CommunicationSerializer
    filterset_class = CommunicationFilter

    def get_queryset(self):
        return communications_visible_to(user=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = communication_create(sender=self.request.user, **serializer.validated_data)
