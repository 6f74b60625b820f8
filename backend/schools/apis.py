from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import ScopedPrimaryKeyRelatedField
from schools.models import Teacher
from schools.selectors import Role, teachers_assignable_by, teaching_refusal, user_role


class RequestingProfileDefault:
    """Default of a profile field (teacher, student): the requester's own profile if they act in that role;
    anyone else must give one."""

    requires_context = True

    def __init__(self, role: Role):
        self.role = role

    def __call__(self, field):
        acting = user_role(user=field.context["request"].user)
        if acting.role is not self.role:
            raise serializers.ValidationError("This field is required.", code="required")
        return acting.profile


class TeacherField(ScopedPrimaryKeyRelatedField):
    """The teacher of a lesson or homework: a teacher records their own, an admin names one of their school."""

    def __init__(self, **kwargs):
        super().__init__(
            queryset=Teacher.objects.all(),
            scope=teachers_assignable_by,
            default=RequestingProfileDefault(Role.TEACHER),
            **kwargs,
        )


class TeachingAssignmentRequired:
    """Serializer mixin: a teacher writes only for the classes and subjects of their teaching assignments (an admin
    for their school); otherwise a 400 naming the field (class_group or subject)."""

    def validate(self, attrs):
        attrs = super().validate(attrs)
        refusal = teaching_refusal(user=self.context["request"].user, **attrs)
        if refusal:
            raise serializers.ValidationError(refusal)
        return attrs


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=[role.value for role in Role])
    school_id = serializers.IntegerField(allow_null=True)
    profile_id = serializers.IntegerField(
        allow_null=True, help_text="Id of the student, teacher, guardian or school-admin record the user acts as."
    )


class MeApi(APIView):
    """The requesting user and the role they act in."""

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        acting = user_role(user=request.user)
        user = request.user
        data = {
            "id": user.pk,
            "username": user.get_username(),
            "role": acting.role,
            "school_id": acting.school_id,
            "profile_id": acting.profile.pk if acting.profile else None,
        }
        return Response(MeSerializer(data).data)
