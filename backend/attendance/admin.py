from django.contrib import admin
from django.db.models import Count

from attendance.models import Attendance, Lesson
from core.admin import (
    AUDIT_FIELDS,
    AuthorStampedAdmin,
    AuthorStampedInlineMixin,
    BoundedDateHierarchyMixin,
    InlinesOnceSavedMixin,
    related_search,
)
from schools.admin import STUDENT_SEARCH

MARK_AUTHOR = ("recorded_by", "recorded_at")


class AttendanceInline(AuthorStampedInlineMixin, admin.TabularInline):
    model = Attendance
    author_fields = MARK_AUTHOR
    fields = ("student", "status", "note", *MARK_AUTHOR)
    autocomplete_fields = ("student",)
    extra = 1

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("student", "recorded_by")


@admin.register(Lesson)
class LessonAdmin(InlinesOnceSavedMixin, BoundedDateHierarchyMixin, admin.ModelAdmin):
    list_display = ("date", "period", "class_group", "subject", "teacher", "marks")
    # Explicit: with an aggregate annotation (GROUP BY) Meta.ordering is not applied.
    ordering = ("-date", "period", "id")
    list_filter = ("class_group__school", "date", "class_group__grade_level", "subject")
    list_select_related = ("class_group", "subject", "teacher__user")
    search_fields = ("class_group__name", "subject__name", "teacher__user__last_name")
    date_hierarchy = "date"
    autocomplete_fields = ("class_group", "subject", "teacher")
    readonly_fields = AUDIT_FIELDS
    inlines = (AttendanceInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(marks_count=Count("marks"))

    @admin.display(ordering="marks_count", description="Marks")
    def marks(self, obj: Lesson) -> int:
        return obj.marks_count


@admin.register(Attendance)
class AttendanceAdmin(AuthorStampedAdmin):
    author_fields = MARK_AUTHOR
    list_display = ("student", "lesson", "status", "recorded_by", "recorded_at")
    list_filter = ("status", "lesson__class_group__school", "lesson__date")
    list_select_related = ("student", "lesson__class_group", "lesson__subject", "recorded_by")
    search_fields = (*related_search("student", STUDENT_SEARCH), "lesson__class_group__name")
    date_hierarchy = "lesson__date"
    autocomplete_fields = ("student", "lesson")
    readonly_fields = AUDIT_FIELDS
