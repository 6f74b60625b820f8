from django.contrib import admin

from communication.models import Communication
from core.admin import AUDIT_FIELDS, BoundedDateHierarchyMixin, related_search
from schools.admin import STUDENT_SEARCH


@admin.register(Communication)
class CommunicationAdmin(BoundedDateHierarchyMixin, admin.ModelAdmin):
    list_display = ("sent_at", "channel", "subject", "sender", "recipient", "student", "school")
    list_filter = ("channel", "school", "sent_at")
    list_select_related = ("sender", "recipient__user", "student", "school")
    search_fields = (
        "subject",
        "body",
        "sender__last_name",
        *related_search("recipient__user", ("first_name", "last_name")),
        *related_search("student", STUDENT_SEARCH),
    )
    date_hierarchy = "sent_at"
    autocomplete_fields = ("sender", "recipient", "student")
    readonly_fields = AUDIT_FIELDS

    def get_changeform_initial_data(self, request):
        return {"sender": request.user.pk, **super().get_changeform_initial_data(request)}
