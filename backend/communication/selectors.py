from django.db.models import Q, QuerySet

from communication.models import Communication
from schools.selectors import Role, in_users_school, students_visible_to, user_role


def communications_visible_to(*, user) -> QuerySet[Communication]:
    """An admin sees their school's log; a teacher what they sent and what concerns the students they teach."""
    communications = Communication.objects.all()
    match user_role(user=user).role:
        case Role.TEACHER:
            return communications.filter(Q(sender=user) | Q(student__in=students_visible_to(user=user)))
        case Role.SCHOOL_ADMIN | Role.DISTRICT_OPERATOR:
            return in_users_school(communications, user=user)
    return communications.none()
