from django.db.models import QuerySet

from attendance.models import Lesson
from schools.selectors import class_groups_visible_to, taught_by


def lessons_visible_to(*, user) -> QuerySet[Lesson]:
    """Lessons of the classes a user sees; a teacher's include every lesson they held themself."""
    return Lesson.objects.filter(class_group__in=class_groups_visible_to(user=user))


def lessons_taught_by(*, user) -> QuerySet[Lesson]:
    """Lessons whose roll call the user may take: a teacher's assigned class and subject pairs, and the daily
    register (no subject) of any class they are assigned to, and the lessons an admin named them the teacher of;
    an admin's school."""
    return taught_by(Lesson.objects.all(), user=user, teacher_field="teacher")
