from django.db.models import QuerySet

from attendance.models import Lesson
from schools.selectors import class_groups_visible_to


def lessons_visible_to(*, user) -> QuerySet[Lesson]:
    """Lessons of the classes a user sees; a teacher's include every lesson they held themself."""
    return Lesson.objects.filter(class_group__in=class_groups_visible_to(user=user))
