from rest_framework import generics, serializers

from communication.models import Communication
from communication.selectors import communications_visible_to
from communication.services import communication_create
from core.api import ScopedPrimaryKeyRelatedField
from schools.models import Guardian, Student
from schools.permissions import IsTeacherOrAdmin
from schools.selectors import guardians_of_users_school, students_visible_to


class CommunicationSerializer(serializers.ModelSerializer):
    recipient = ScopedPrimaryKeyRelatedField(queryset=Guardian.objects.all(), scope=guardians_of_users_school)
    student = ScopedPrimaryKeyRelatedField(
        queryset=Student.objects.all(), scope=students_visible_to, required=False, allow_null=True
    )

    class Meta:
        model = Communication
        fields = ["id", "school", "sender", "recipient", "student", "channel", "sent_at", "subject", "body"]
        read_only_fields = ["school", "sender"]
        extra_kwargs = {"sent_at": {"required": False, "help_text": "Defaults to now."}}


class CommunicationListApi(generics.ListCreateAPIView):
    """The log of communications with guardians; the requester is the sender of what they log."""

    permission_classes = [IsTeacherOrAdmin]
    serializer_class = CommunicationSerializer
    filterset_fields = ["recipient", "student", "channel", "sender"]

    def get_queryset(self):
        return communications_visible_to(user=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = communication_create(sender=self.request.user, **serializer.validated_data)
