from django.db.models import QuerySet

from homework.models import Homework, HomeworkSubmission
from schools.selectors import class_groups_visible_to, students_visible_to


def homework_visible_to(*, user) -> QuerySet[Homework]:
    """Homework set for the classes a user sees."""
    return Homework.objects.filter(class_group__in=class_groups_visible_to(user=user))


def submissions_visible_to(*, user) -> QuerySet[HomeworkSubmission]:
    """Submissions of the students a user sees, with their grade."""
    return HomeworkSubmission.objects.filter(student__in=students_visible_to(user=user)).select_related("grade")
