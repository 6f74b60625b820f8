import django_filters
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from core.api import ScopedModelChoiceFilter, ScopedPrimaryKeyRelatedField
from homework.models import Grade, Homework, HomeworkSubmission
from homework.selectors import homework_taught_by, homework_visible_to, submissions_visible_to
from homework.services import grade_delete, grade_record, homework_create, submission_create
from schools.apis import RequestingProfileDefault, TeacherField, TeachingAssignmentRequired
from schools.models import ClassGroup, Student, Subject, Teacher
from schools.permissions import IsStudent, IsTeacherOrAdmin, ReadOnly
from schools.selectors import (
    Role,
    class_groups_visible_to,
    students_visible_to,
    subjects_of_users_school,
    subjects_visible_to,
    teachers_visible_to,
    user_role,
)

NOT_TAUGHT = "You do not teach this homework's subject to its class."


class HomeworkSerializer(TeachingAssignmentRequired, serializers.ModelSerializer):
    class_group = ScopedPrimaryKeyRelatedField(queryset=ClassGroup.objects.all(), scope=class_groups_visible_to)
    subject = ScopedPrimaryKeyRelatedField(queryset=Subject.objects.all(), scope=subjects_of_users_school)
    teacher = TeacherField()

    class Meta:
        model = Homework
        fields = [
            "id",
            "class_group",
            "subject",
            "teacher",
            "title",
            "description",
            "assigned_date",
            "due_date",
            "max_score",
        ]


class HomeworkFilter(django_filters.FilterSet):
    class_group = ScopedModelChoiceFilter(model=ClassGroup, scope=class_groups_visible_to)
    subject = ScopedModelChoiceFilter(model=Subject, scope=subjects_visible_to)
    teacher = ScopedModelChoiceFilter(model=Teacher, scope=teachers_visible_to)

    class Meta:
        model = Homework
        fields = ["class_group", "subject", "teacher", "due_date"]


class HomeworkListApi(generics.ListCreateAPIView):
    """Homework of the classes the requester sees; teachers set it for the classes and subjects they are assigned
    to, admins for their school."""

    permission_classes = [IsAuthenticated, ReadOnly | IsTeacherOrAdmin]
    serializer_class = HomeworkSerializer
    filterset_class = HomeworkFilter

    def get_queryset(self):
        return homework_visible_to(user=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = homework_create(**serializer.validated_data)


class GradeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Grade
        fields = ["score", "max_score", "feedback", "graded_by", "graded_at"]
        read_only_fields = ["max_score", "graded_by", "graded_at"]


class SubmissionSerializer(serializers.ModelSerializer):
    student = ScopedPrimaryKeyRelatedField(
        queryset=Student.objects.all(), scope=students_visible_to, default=RequestingProfileDefault(Role.STUDENT)
    )
    grade = GradeSerializer(read_only=True, allow_null=True)

    class Meta:
        model = HomeworkSubmission
        fields = ["id", "homework", "student", "submitted_at", "content", "grade"]
        read_only_fields = ["homework"]
        extra_kwargs = {"submitted_at": {"required": False, "help_text": "Defaults to now; only staff may set it."}}

    def validate_submitted_at(self, value):
        if user_role(user=self.context["request"].user).role is Role.STUDENT:
            raise serializers.ValidationError("A student's submission is handed in now; only staff may set the time.")
        return value


class SubmissionListApi(generics.ListCreateAPIView):
    """Submissions of one homework; a student hands in their own, a teacher or admin records one for a student."""

    permission_classes = [IsAuthenticated, ReadOnly | IsStudent | IsTeacherOrAdmin]
    serializer_class = SubmissionSerializer
    queryset = HomeworkSubmission.objects.none()  # names the model for the schema; rows come from get_queryset()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # After authentication and permissions, before the body is read: homework out of scope is 404 first.
        self.homework = get_object_or_404(homework_visible_to(user=request.user), pk=kwargs["homework_id"])
        # Staff record a submission only for homework they teach (a student hands in their own: their scope is
        # themself, and the homework is their class's).
        if (
            request.method == "POST"
            and user_role(user=request.user).role is not Role.STUDENT
            and not homework_taught_by(user=request.user).filter(pk=self.homework.pk).exists()
        ):
            raise PermissionDenied(NOT_TAUGHT)

    def get_queryset(self):
        return submissions_visible_to(user=self.request.user).filter(homework=self.homework)

    def perform_create(self, serializer):
        serializer.instance = submission_create(homework=self.homework, **serializer.validated_data)


class GradeApi(generics.GenericAPIView):
    """The grade of one submission: posting grades it or re-grades it, deleting removes the grade."""

    permission_classes = [IsTeacherOrAdmin]
    serializer_class = GradeSerializer
    lookup_url_kwarg = "submission_id"

    def get_queryset(self):
        return submissions_visible_to(user=self.request.user)

    def get_object(self):
        """The submission (404 outside the requester's scope); 403 when they see it but do not teach its subject."""
        submission = super().get_object()
        if not homework_taught_by(user=self.request.user).filter(pk=submission.homework_id).exists():
            raise PermissionDenied(NOT_TAUGHT)
        return submission

    @extend_schema(responses={200: GradeSerializer, 201: GradeSerializer})
    def post(self, request, submission_id: int):
        submission = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        grade, created = grade_record(submission=submission, graded_by=request.user, **serializer.validated_data)
        return Response(
            self.get_serializer(grade).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(responses={204: None})
    def delete(self, request, submission_id: int):
        grade_delete(grade=get_object_or_404(Grade, submission=self.get_object()))
        return Response(status=status.HTTP_204_NO_CONTENT)
