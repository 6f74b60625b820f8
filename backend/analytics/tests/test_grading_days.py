"""The teachers' grading days (TeacherGradingDay), worked out by hand through every write that moves them: a
submission handed in, graded, its grade deleted, moved to other homework; homework moved to another day or
teacher, deleted; a student deleted; and the rebuild and its check. After each step the oracle agrees too."""

import datetime

import pytest

from analytics.models import TeacherGradingDay
from analytics.services import analytics_rebuild, analytics_verify
from analytics.tests.oracle import assert_summaries_exact
from homework.models import Grade, HomeworkSubmission
from tests import factories

pytestmark = pytest.mark.django_db

MON, TUE = datetime.date(2026, 9, 14), datetime.date(2026, 9, 15)


def stored() -> dict:
    """(teacher, due date) -> (homework with a submission not graded, such submissions)."""
    return {
        (row.teacher_id, row.due_date): (row.homework_ungraded, row.submissions_ungraded)
        for row in TeacherGradingDay.objects.all()
    }


def test_grading_days_follow_every_write():
    school = factories.SchoolFactory()
    factories.TermFactory(school=school)
    klass = factories.ClassGroupFactory(school=school)
    subject = factories.SubjectFactory(school=school)
    ana, ben = (factories.TeacherFactory(school=school) for _ in range(2))
    a, b, c = (factories.StudentFactory(school=school, class_group=klass) for _ in range(3))

    def homework(teacher, due):
        return factories.HomeworkFactory(
            class_group=klass, subject=subject, teacher=teacher, assigned_date=due, due_date=due
        )

    maths, essay = homework(ana, MON), homework(ana, MON)
    poem = homework(ben, TUE)
    assert stored() == {}  # set, nothing handed in

    # Handed in: Ana's two pieces of Monday's homework have 3 submissions between them, none graded.
    submissions = {
        (work, student): factories.SubmissionFactory(homework=work, student=student)
        for work, student in ((maths, a), (maths, b), (essay, c), (poem, a))
    }
    assert stored() == {(ana.pk, MON): (2, 3), (ben.pk, TUE): (1, 1)}

    # Graded: the essay's only submission, then one of the maths; Ben's poem.
    Grade.objects.create(submission=submissions[essay, c], score=5)
    grade = Grade.objects.create(submission=submissions[maths, a], score=5)
    Grade.objects.create(submission=submissions[poem, a], score=5)
    assert stored() == {(ana.pk, MON): (1, 1)}
    grade.score = 7
    grade.save()  # a score changed: nothing else
    assert stored() == {(ana.pk, MON): (1, 1)}

    # A grade deleted: that submission is not graded again.
    grade.delete()
    assert stored() == {(ana.pk, MON): (1, 2)}

    # A submission moved to Ben's poem (its grade goes with it: none here).
    moved = submissions[maths, b]
    moved.homework = poem
    moved.save()
    assert stored() == {(ana.pk, MON): (1, 1), (ben.pk, TUE): (1, 1)}

    # Homework moved to Tuesday, then given to Ben: the day and the teacher follow it.
    maths.due_date = TUE
    maths.save()
    assert stored() == {(ana.pk, TUE): (1, 1), (ben.pk, TUE): (1, 1)}
    maths.teacher = ben
    maths.save()
    assert stored() == {(ben.pk, TUE): (2, 2)}
    assert_summaries_exact()

    # A student deleted: their submissions go, and with them what was not graded.
    b.delete()
    assert stored() == {(ben.pk, TUE): (1, 1)}
    # Homework deleted with its submissions.
    maths.delete()
    assert stored() == {}
    assert_summaries_exact()

    # Drift is found by the check and mended by the rebuild.
    HomeworkSubmission.objects.create(
        homework=essay, student=a, submitted_at=datetime.datetime(2026, 9, 14, 8, tzinfo=datetime.UTC)
    )
    assert stored() == {(ana.pk, MON): (1, 1)}
    TeacherGradingDay.objects.update(submissions_ungraded=9)
    TeacherGradingDay.objects.create(
        teacher=ben, school=school, due_date=MON, homework_ungraded=1, submissions_ungraded=1
    )
    found = sorted(str(difference) for difference in analytics_verify(school_id=school.pk))
    assert len(found) == 2, found
    assert all("TeacherGradingDay" in line for line in found), found
    analytics_rebuild(school_id=school.pk)
    assert stored() == {(ana.pk, MON): (1, 1)}
    assert analytics_verify(school_id=school.pk) == []
    assert_summaries_exact()
