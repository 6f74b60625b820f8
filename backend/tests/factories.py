"""Factories for every model, in one place. Dates are passed in by tests; defaults are fixed."""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from attendance.models import Attendance, AttendanceStatus, Lesson
from communication.models import Channel, Communication
from core.models import User
from finance.models import FeeInvoice, Payment
from homework.models import Grade, Homework, HomeworkSubmission
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

TERM_START = datetime.date(2026, 9, 7)  # a Monday
TERM_END = datetime.date(2026, 12, 18)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.org")
    password = factory.django.Password("pass-1234")


class SchoolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = School

    name = factory.Sequence(lambda n: f"School {n}")
    timezone = "UTC"


class TermFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AcademicTerm

    school = factory.SubFactory(SchoolFactory)
    name = factory.Sequence(lambda n: f"Term {n}")
    start_date = TERM_START
    end_date = TERM_END


class SubjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subject

    school = factory.SubFactory(SchoolFactory)
    name = factory.Sequence(lambda n: f"Subject {n}")


class ClassGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ClassGroup

    school = factory.SubFactory(SchoolFactory)
    name = factory.Sequence(lambda n: f"Grade 7-{n}")
    grade_level = 7


class SchoolAdminFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SchoolAdmin

    user = factory.SubFactory(UserFactory)
    school = factory.SubFactory(SchoolFactory)


class TeacherFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Teacher

    user = factory.SubFactory(UserFactory)
    school = factory.SubFactory(SchoolFactory)


class StudentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Student

    school = factory.SubFactory(SchoolFactory)
    class_group = factory.SubFactory(ClassGroupFactory, school=factory.SelfAttribute("..school"))
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    student_number = factory.Sequence(lambda n: f"S{n:05d}")


class GuardianFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Guardian
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    school = factory.SubFactory(SchoolFactory)

    @factory.post_generation
    def students(self, create, extracted, **kwargs):
        if create and extracted:
            self.students.set(extracted)


class TeachingAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeachingAssignment

    teacher = factory.SubFactory(TeacherFactory)
    class_group = factory.SubFactory(ClassGroupFactory, school=factory.SelfAttribute("..teacher.school"))
    subject = factory.SubFactory(SubjectFactory, school=factory.SelfAttribute("..teacher.school"))


class LessonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lesson

    class_group = factory.SubFactory(ClassGroupFactory)
    subject = factory.SubFactory(SubjectFactory, school=factory.SelfAttribute("..class_group.school"))
    teacher = factory.SubFactory(TeacherFactory, school=factory.SelfAttribute("..class_group.school"))
    date = TERM_START
    period = factory.Sequence(lambda n: n % 8 + 1)


class AttendanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Attendance

    lesson = factory.SubFactory(LessonFactory)
    student = factory.SubFactory(
        StudentFactory,
        school=factory.SelfAttribute("..lesson.class_group.school"),
        class_group=factory.SelfAttribute("..lesson.class_group"),
    )
    status = AttendanceStatus.PRESENT


class HomeworkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Homework

    class_group = factory.SubFactory(ClassGroupFactory)
    subject = factory.SubFactory(SubjectFactory, school=factory.SelfAttribute("..class_group.school"))
    teacher = factory.SubFactory(TeacherFactory, school=factory.SelfAttribute("..class_group.school"))
    title = factory.Sequence(lambda n: f"Homework {n}")
    assigned_date = TERM_START
    due_date = factory.LazyAttribute(lambda o: o.assigned_date + datetime.timedelta(days=2))
    max_score = Decimal("20")


class SubmissionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HomeworkSubmission

    homework = factory.SubFactory(HomeworkFactory)
    student = factory.SubFactory(
        StudentFactory,
        school=factory.SelfAttribute("..homework.class_group.school"),
        class_group=factory.SelfAttribute("..homework.class_group"),
    )
    submitted_at = factory.LazyAttribute(
        lambda o: datetime.datetime.combine(o.homework.due_date, datetime.time(9, 0), tzinfo=datetime.UTC)
    )


class GradeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Grade

    submission = factory.SubFactory(SubmissionFactory)
    score = Decimal("15")
    graded_at = factory.LazyFunction(timezone.now)


class CommunicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Communication

    school = factory.SubFactory(SchoolFactory)
    sender = factory.SubFactory(UserFactory)
    recipient = factory.SubFactory(GuardianFactory, school=factory.SelfAttribute("..school"))
    channel = Channel.EMAIL
    sent_at = factory.LazyFunction(timezone.now)
    subject = "Progress"


class InvoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FeeInvoice

    student = factory.SubFactory(StudentFactory)
    amount = Decimal("500.00")
    due_date = TERM_START


class PaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Payment

    invoice = factory.SubFactory(InvoiceFactory)
    amount = Decimal("100.00")
    method = Payment.Method.CASH
