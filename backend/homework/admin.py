from django.contrib import admin
from django.db.models import Count

from core.admin import (
    AUDIT_FIELDS,
    AuthorStampedAdmin,
    AuthorStampedInlineMixin,
    BoundedDateHierarchyMixin,
    InlinesOnceSavedMixin,
    related_search,
)
from homework.models import Grade, Homework, HomeworkSubmission
from schools.admin import STUDENT_SEARCH

GRADE_AUTHOR = ("graded_by", "graded_at")


@admin.register(Homework)
class HomeworkAdmin(BoundedDateHierarchyMixin, admin.ModelAdmin):
    list_display = (
        "title",
        "class_group",
        "subject",
        "teacher",
        "assigned_date",
        "due_date",
        "max_score",
        "submissions",
    )
    # Explicit: with an aggregate annotation (GROUP BY) Meta.ordering is not applied.
    ordering = ("-due_date", "id")
    list_filter = ("class_group__school", "due_date", "class_group__grade_level", "subject")
    list_select_related = ("class_group", "subject", "teacher__user")
    search_fields = ("title", "class_group__name", "subject__name")
    date_hierarchy = "due_date"
    autocomplete_fields = ("class_group", "subject", "teacher")
    readonly_fields = AUDIT_FIELDS

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(submissions_count=Count("submissions"))

    @admin.display(ordering="submissions_count", description="Submissions")
    def submissions(self, obj: Homework) -> int:
        return obj.submissions_count


class GradeInline(AuthorStampedInlineMixin, admin.StackedInline):
    model = Grade
    author_fields = GRADE_AUTHOR
    fields = ("score", "max_score", "feedback", *GRADE_AUTHOR)
    readonly_fields = ("max_score",)


@admin.register(HomeworkSubmission)
class HomeworkSubmissionAdmin(InlinesOnceSavedMixin, BoundedDateHierarchyMixin, admin.ModelAdmin):
    list_display = ("student", "homework", "submitted_at", "score")
    list_filter = ("homework__class_group__school", "submitted_at", "homework__subject")
    list_select_related = ("student", "homework__class_group", "grade")
    search_fields = (*related_search("student", STUDENT_SEARCH), "homework__title")
    date_hierarchy = "submitted_at"
    autocomplete_fields = ("homework", "student")
    readonly_fields = AUDIT_FIELDS
    inlines = (GradeInline,)

    @admin.display(ordering="grade__score", description="Score")
    def score(self, obj: HomeworkSubmission) -> str | None:
        grade = getattr(obj, "grade", None)  # a missing reverse one-to-one raises an AttributeError subclass
        return f"{grade.score} / {grade.max_score}" if grade else None


@admin.register(Grade)
class GradeAdmin(AuthorStampedAdmin):
    author_fields = GRADE_AUTHOR
    list_display = ("submission", "score", "max_score", "percentage", *GRADE_AUTHOR)
    list_filter = ("submission__homework__class_group__school", "graded_at", "submission__homework__subject")
    list_select_related = ("submission__student", "submission__homework", "graded_by")
    search_fields = (*related_search("submission__student", STUDENT_SEARCH), "submission__homework__title")
    date_hierarchy = "graded_at"
    autocomplete_fields = ("submission",)
    readonly_fields = (*AUDIT_FIELDS, "max_score")

    @admin.display(description="Percentage")
    def percentage(self, obj: Grade) -> str:
        return f"{obj.percentage:.1f}%"
