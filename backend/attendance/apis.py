import django_filters
from rest_framework import generics, serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from attendance.models import Attendance, Lesson
from attendance.selectors import lessons_taught_by, lessons_visible_to
from attendance.services import ROLL_CALL_MAX_MARKS, lesson_create, roll_call_record
from core.api import ScopedModelChoiceFilter, ScopedPrimaryKeyRelatedField
from core.bounds import id_field
from schools.apis import TeacherField, TeachingAssignmentRequired
from schools.models import ClassGroup, Subject, Teacher
from schools.permissions import IsTeacherOrAdmin
from schools.selectors import (
    class_groups_visible_to,
    subjects_of_users_school,
    subjects_visible_to,
    teachers_visible_to,
)


class LessonSerializer(TeachingAssignmentRequired, serializers.ModelSerializer):
    class_group = ScopedPrimaryKeyRelatedField(queryset=ClassGroup.objects.all(), scope=class_groups_visible_to)
    subject = ScopedPrimaryKeyRelatedField(
        queryset=Subject.objects.all(), scope=subjects_of_users_school, required=False, allow_null=True
    )
    teacher = TeacherField()

    class Meta:
        model = Lesson
        fields = ["id", "class_group", "subject", "teacher", "date", "period"]


class LessonFilter(django_filters.FilterSet):
    class_group = ScopedModelChoiceFilter(model=ClassGroup, scope=class_groups_visible_to)
    teacher = ScopedModelChoiceFilter(model=Teacher, scope=teachers_visible_to)
    subject = ScopedModelChoiceFilter(model=Subject, scope=subjects_visible_to)

    class Meta:
        model = Lesson
        fields = ["class_group", "teacher", "subject", "date"]


class LessonListApi(generics.ListCreateAPIView):
    """Lessons of the classes the requester teaches (or administers); a teacher records lessons of the classes and
    subjects they are assigned to (a lesson with no subject, the daily register, of any class they are assigned to)."""

    permission_classes = [IsTeacherOrAdmin]
    serializer_class = LessonSerializer
    filterset_class = LessonFilter

    def get_queryset(self):
        return lessons_visible_to(user=self.request.user)

    def perform_create(self, serializer):
        serializer.instance = lesson_create(**serializer.validated_data)


class RollCallMarkSerializer(serializers.ModelSerializer):
    student_id = id_field()

    class Meta:
        model = Attendance
        fields = ["student_id", "status", "note", "recorded_by", "recorded_at"]
        read_only_fields = ["recorded_by", "recorded_at"]


class RollCallSerializer(serializers.Serializer):
    lesson = LessonSerializer(read_only=True)
    marks = RollCallMarkSerializer(many=True, allow_empty=False, max_length=ROLL_CALL_MAX_MARKS)


class RollCallApi(generics.GenericAPIView):
    """The roll call of one lesson. Posting replaces it as a whole: marks of students left out are removed."""

    permission_classes = [IsTeacherOrAdmin]
    serializer_class = RollCallSerializer
    lookup_url_kwarg = "lesson_id"

    def get_queryset(self):
        return lessons_visible_to(user=self.request.user)

    def get(self, request, lesson_id: int):
        lesson = self.get_object()
        return Response(self.get_serializer({"lesson": lesson, "marks": lesson.marks.all()}).data)

    def post(self, request, lesson_id: int):
        lesson = self.get_object()
        if not lessons_taught_by(user=request.user).filter(pk=lesson.pk).exists():
            raise PermissionDenied("You do not teach this lesson's subject to its class.")
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        marks = roll_call_record(lesson=lesson, marks=serializer.validated_data["marks"], recorded_by=request.user)
        return Response(self.get_serializer({"lesson": lesson, "marks": marks}).data)
