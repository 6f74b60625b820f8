from django import forms
from django.contrib import admin
from django.db.models import Count, Q

from core.admin import AUDIT_FIELDS, BoundedDateHierarchyMixin, InlinesOnceSavedMixin, related_search
from schools.models import (
    AcademicTerm,
    ClassGroup,
    Guardian,
    School,
    SchoolAdmin,
    Student,
    Subject,
    Teacher,
    TeachingAssignment,
)

PERSON_SEARCH = related_search("user", ("username", "first_name", "last_name", "email"))
STUDENT_SEARCH = ("first_name", "last_name", "student_number")


@admin.register(School)
class SchoolModelAdmin(admin.ModelAdmin):
    list_display = ("name", "timezone", "late_counts_as_present", "excused_absences_excluded", "rank_scope")
    list_filter = ("timezone", "rank_scope")
    search_fields = ("name",)
    readonly_fields = AUDIT_FIELDS


@admin.register(AcademicTerm)
class AcademicTermAdmin(BoundedDateHierarchyMixin, admin.ModelAdmin):
    list_display = ("name", "school", "start_date", "end_date")
    list_filter = ("school",)
    list_select_related = ("school",)
    search_fields = ("name", "school__name")
    date_hierarchy = "start_date"
    readonly_fields = AUDIT_FIELDS


@admin.register(Subject)
class SubjectAdmin(admin.ModelAdmin):
    list_display = ("name", "code", "school")
    list_filter = ("school",)
    list_select_related = ("school",)
    search_fields = ("name", "code")
    readonly_fields = AUDIT_FIELDS


class TeachingAssignmentInline(admin.TabularInline):
    """Used inside a teacher and inside a class; the parent's own key is left out of the row."""

    model = TeachingAssignment
    extra = 1
    autocomplete_fields = ("teacher", "class_group", "subject")


@admin.register(ClassGroup)
class ClassGroupAdmin(InlinesOnceSavedMixin, admin.ModelAdmin):
    list_display = ("name", "grade_level", "school", "active_students")
    # Explicit: with an aggregate annotation (GROUP BY) Meta.ordering is not applied.
    ordering = ("grade_level", "name", "id")
    list_filter = ("school", "grade_level")
    list_select_related = ("school",)
    search_fields = ("name", "school__name")
    readonly_fields = AUDIT_FIELDS
    inlines = (TeachingAssignmentInline,)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(active_students_count=Count("students", filter=Q(students__active=True)))
        )

    @admin.display(ordering="active_students_count", description="Active students")
    def active_students(self, obj: ClassGroup) -> int:
        return obj.active_students_count


@admin.register(SchoolAdmin)
class SchoolAdminProfileAdmin(admin.ModelAdmin):
    list_display = ("__str__", "user", "school")
    list_filter = ("school",)
    list_select_related = ("user", "school")
    search_fields = PERSON_SEARCH
    autocomplete_fields = ("user",)
    readonly_fields = AUDIT_FIELDS


@admin.register(Teacher)
class TeacherAdmin(InlinesOnceSavedMixin, admin.ModelAdmin):
    list_display = ("__str__", "user", "school")
    list_filter = ("school",)
    list_select_related = ("user", "school")
    search_fields = PERSON_SEARCH
    autocomplete_fields = ("user",)
    readonly_fields = AUDIT_FIELDS
    inlines = (TeachingAssignmentInline,)


@admin.register(Student)
class StudentAdmin(admin.ModelAdmin):
    list_display = ("last_name", "first_name", "student_number", "class_group", "school", "active")
    list_filter = ("school", "active", "class_group__grade_level")
    list_select_related = ("class_group", "school")
    search_fields = STUDENT_SEARCH
    autocomplete_fields = ("user", "class_group")
    readonly_fields = AUDIT_FIELDS


class GuardianForm(forms.ModelForm):
    """Children are picked among the students of the guardian's school."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.school_id:
            students = self.fields["students"]
            students.queryset = students.queryset.filter(school_id=self.instance.school_id)

    def clean(self):
        cleaned = super().clean()
        school, students = cleaned.get("school"), cleaned.get("students")
        if school and students and any(student.school_id != school.pk for student in students):
            self.add_error("students", "Every child must be a student of the guardian's school.")
        return cleaned


@admin.register(Guardian)
class GuardianAdmin(admin.ModelAdmin):
    form = GuardianForm
    list_display = ("__str__", "user", "phone", "school", "children")
    # Explicit: with an aggregate annotation (GROUP BY) Meta.ordering is not applied.
    ordering = ("user__last_name", "user__first_name", "id")
    list_filter = ("school",)
    list_select_related = ("user", "school")
    search_fields = (*PERSON_SEARCH, "phone", *related_search("students", STUDENT_SEARCH))
    autocomplete_fields = ("user",)
    filter_horizontal = ("students",)
    readonly_fields = AUDIT_FIELDS

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(children_count=Count("students", distinct=True))

    @admin.display(ordering="children_count", description="Children")
    def children(self, obj: Guardian) -> int:
        return obj.children_count


@admin.register(TeachingAssignment)
class TeachingAssignmentAdmin(admin.ModelAdmin):
    list_display = ("teacher", "class_group", "subject")
    list_filter = ("teacher__school", "class_group__grade_level")
    list_select_related = ("teacher__user", "class_group", "subject")
    search_fields = ("teacher__user__last_name", "teacher__user__first_name", "class_group__name", "subject__name")
    autocomplete_fields = ("teacher", "class_group", "subject")
    readonly_fields = AUDIT_FIELDS
