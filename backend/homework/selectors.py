from django.db.models import QuerySet

from homework.models import Homework, HomeworkSubmission
from schools.selectors import class_groups_visible_to, students_visible_to, taught_by


def homework_visible_to(*, user) -> QuerySet[Homework]:
    """Homework set for the classes a user sees."""
    return Homework.objects.filter(class_group__in=class_groups_visible_to(user=user))


def submissions_visible_to(*, user) -> QuerySet[HomeworkSubmission]:
    """Submissions of the students a user sees, with their grade."""
    return HomeworkSubmission.objects.filter(student__in=students_visible_to(user=user)).select_related("grade")


def homework_taught_by(*, user) -> QuerySet[Homework]:
    """Homework the user may grade and record submissions of: a teacher's assigned class and subject pairs and the
    homework an admin named them the teacher of; an admin's school."""
    return taught_by(Homework.objects.all(), user=user, teacher_field="teacher")
