"""Summary tables: each derived field equals a from-scratch recomputation from source data.

Definitions are in docs/metrics.md. Derived fields are written only by ``analytics.services``;
teacher inputs (``behavior_score``, ``teacher_comment``) are never touched by a recomputation.
"""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from attendance.models import AttendanceStatus
from core.bounds import BEHAVIOUR_SCALE, within
from schools.models import AcademicTerm, School, Student, Subject, Teacher

PERCENT = {"max_digits": 5, "decimal_places": 2, "validators": [MinValueValidator(0), MaxValueValidator(100)]}


class StudentDailySummary(models.Model):
    """One row per student and date that has attendance marks, homework due, or a behaviour score."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="daily_summaries")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    date = models.DateField()
    attendance_status = models.CharField(max_length=8, choices=AttendanceStatus.choices, null=True, blank=True)
    # Lesson marks of the day, and how many of them are attended / counted under the school's rules.
    lessons_marked = models.PositiveIntegerField(default=0)
    lessons_attended = models.PositiveIntegerField(default=0)
    lessons_counted = models.PositiveIntegerField(default=0)
    homework_due = models.PositiveIntegerField(default=0)
    homework_on_time = models.PositiveIntegerField(default=0)
    homework_late = models.PositiveIntegerField(default=0)
    homework_completed = models.BooleanField(null=True, blank=True)
    behavior_score = models.SmallIntegerField(null=True, blank=True, help_text="Teacher input.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "student daily summaries"
        ordering = ["student_id", "date"]
        constraints = [models.UniqueConstraint(fields=["student", "date"], name="daily_summary_unique")]
        indexes = [models.Index(fields=["school", "date"])]

    def __str__(self) -> str:
        return f"{self.student} {self.date}"


class StudentTermPerformance(models.Model):
    """One row per student, term and subject that has grades or attendance marks."""

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="term_performances")
    term = models.ForeignKey(AcademicTerm, on_delete=models.CASCADE, related_name="+")
    subject = models.ForeignKey(Subject, on_delete=models.CASCADE, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    average_grade = models.DecimalField(**PERCENT, null=True, blank=True)
    grades_count = models.PositiveIntegerField(default=0)
    attendance_percentage = models.DecimalField(**PERCENT, null=True, blank=True)
    lessons_marked = models.PositiveIntegerField(default=0)
    lessons_attended = models.PositiveIntegerField(default=0)
    lessons_counted = models.PositiveIntegerField(default=0)
    # Written by the nightly rank job only.
    rank = models.PositiveIntegerField(null=True, blank=True)
    rank_of = models.PositiveIntegerField(null=True, blank=True, help_text="How many were ranked.")
    teacher_comment = models.TextField(blank=True, help_text="Teacher input.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["student_id", "term_id", "subject_id"]
        constraints = [models.UniqueConstraint(fields=["student", "term", "subject"], name="term_performance_unique")]
        indexes = [models.Index(fields=["term", "subject"]), models.Index(fields=["school", "term"])]

    def __str__(self) -> str:
        return f"{self.student} {self.subject} {self.term}"


class TeacherPerformanceMetric(models.Model):
    """One row per teacher and week (starting Monday) with any lesson, homework, message or mark."""

    teacher = models.ForeignKey(Teacher, on_delete=models.CASCADE, related_name="weekly_metrics")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    week_start = models.DateField(help_text="The Monday the week starts on.")
    classes_taught = models.PositiveIntegerField(default=0)
    homeworks_assigned = models.PositiveIntegerField(default=0)
    parent_communications = models.PositiveIntegerField(default=0)
    average_student_attendance = models.DecimalField(**PERCENT, null=True, blank=True)
    lessons_attended = models.PositiveIntegerField(default=0)
    lessons_counted = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["teacher_id", "week_start"]
        constraints = [models.UniqueConstraint(fields=["teacher", "week_start"], name="teacher_metric_unique")]
        indexes = [models.Index(fields=["school", "week_start"])]

    def __str__(self) -> str:
        return f"{self.teacher} week of {self.week_start}"


class TeacherGradingDay(models.Model):
    """One row per teacher and due date with a submission not graded: how many of the teacher's homework due that
    day have one, and how many such submissions. The missing data's grading figures are read from these rows
    (docs/metrics.md, "Missing data": the homework due more than a week before today), so a teacher's page reads a
    row a day instead of looking up a grade for each submission of its weeks."""

    teacher = models.ForeignKey(Teacher, on_delete=models.CASCADE, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    due_date = models.DateField()
    homework_ungraded = models.PositiveIntegerField(
        default=0, help_text="The teacher's homework due that day with a submission not graded."
    )
    submissions_ungraded = models.PositiveIntegerField(
        default=0, help_text="Submissions of the teacher's homework due that day without a grade."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["teacher_id", "due_date"]
        constraints = [models.UniqueConstraint(fields=["teacher", "due_date"], name="teacher_grading_day_unique")]

    def __str__(self) -> str:
        return f"{self.teacher} homework due {self.due_date}"


class SchoolTeacherWeek(models.Model):
    """One row per school and week with any TeacherPerformanceMetric row: what the school's median of each
    teacher metric is taken from, so a teacher's page reads a few rows whatever the number of teachers.

    The counts are kept as how many teachers have each value (``{"3": 12, "4": 30}``): their median pads
    the list with a zero for each teacher of the school without a row that week, and the teachers are
    counted when the median is read. The attendance median needs no padding and is stored as it is.
    """

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    week_start = models.DateField(help_text="The Monday the week starts on.")
    classes_taught = models.JSONField(default=dict, help_text="Value -> how many teachers' rows have it.")
    homeworks_assigned = models.JSONField(default=dict, help_text="Value -> how many teachers' rows have it.")
    parent_communications = models.JSONField(default=dict, help_text="Value -> how many teachers' rows have it.")
    average_student_attendance = models.DecimalField(
        **PERCENT, null=True, blank=True, help_text="Median of the teachers' rates (rows without one left out)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["school_id", "week_start"]
        constraints = [models.UniqueConstraint(fields=["school", "week_start"], name="school_teacher_week_unique")]

    def __str__(self) -> str:
        return f"{self.school} teachers' week of {self.week_start}"


class StudentTermStanding(models.Model):
    """A student's overall position in class for a term, by the mean of their subject averages.

    Written by the nightly rank job only (``analytics.jobs.class_ranks_calculate``).
    """

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="term_standings")
    term = models.ForeignKey(AcademicTerm, on_delete=models.CASCADE, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    overall_average = models.DecimalField(
        **PERCENT, null=True, blank=True, help_text="Mean of the subject averages, rounded half-up."
    )
    subjects_averaged = models.PositiveIntegerField(default=0, help_text="Subjects with an average.")
    rank = models.PositiveIntegerField(null=True, blank=True)
    rank_of = models.PositiveIntegerField(null=True, blank=True, help_text="How many were ranked.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["student_id", "term_id"]
        constraints = [models.UniqueConstraint(fields=["student", "term"], name="term_standing_unique")]
        indexes = [models.Index(fields=["school", "term"])]

    def __str__(self) -> str:
        return f"{self.student} {self.term}: {self.rank or '-'} of {self.rank_of or '-'}"


class JobRun(models.Model):
    """One run of a scheduled job for one school. A RUNNING row is that job's lock for that school."""

    class Job(models.TextChoices):
        CLASS_RANKS = "calculate_class_ranks", "Class ranks"
        TEACHER_METRICS = "generate_teacher_metrics", "Teacher metrics"
        EARLY_WARNING = "roll_early_warning_flags", "Early-warning flags"

    class Status(models.TextChoices):
        RUNNING = "RUNNING", "Running"
        SUCCEEDED = "SUCCEEDED", "Succeeded"
        FAILED = "FAILED", "Failed"
        REFUSED = "REFUSED", "Refused (another run was in progress)"

    job = models.CharField(max_length=32, choices=Job.choices)
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    term = models.ForeignKey(AcademicTerm, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    period_start = models.DateField()
    period_end = models.DateField()
    scheduled_for = models.DateTimeField(
        null=True, blank=True, help_text="The schedule slot this run was queued for; empty for a manual run."
    )
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.RUNNING)
    worker = models.CharField(max_length=200, blank=True, help_text="host:pid of the process that ran it.")
    started_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField(help_text="Last sign of life; a RUNNING row silent too long is taken over.")
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_changed = models.PositiveIntegerField(default=0)
    summary = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "school"], condition=models.Q(status="RUNNING"), name="job_run_one_running_per_school"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["RUNNING", "SUCCEEDED", "FAILED", "REFUSED"]),
                name="job_run_status_valid",
            ),
        ]
        indexes = [models.Index(fields=["job", "school", "scheduled_for"])]

    def __str__(self) -> str:
        return f"{self.job} {self.school} {self.period_start}..{self.period_end}: {self.status}"


class StudentTermAttendance(models.Model):
    """One row per student and term with attendance marks: the student's whole attendance in the term.

    Rolled up from the student's StudentDailySummary rows of the term.
    """

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="term_attendance")
    term = models.ForeignKey(AcademicTerm, on_delete=models.CASCADE, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    days_marked = models.PositiveIntegerField(default=0)
    days_present = models.PositiveIntegerField(default=0, help_text="Days whose status is PRESENT or LATE.")
    days_late = models.PositiveIntegerField(default=0)
    days_absent = models.PositiveIntegerField(default=0)
    days_excused = models.PositiveIntegerField(default=0)
    lessons_marked = models.PositiveIntegerField(default=0)
    lessons_attended = models.PositiveIntegerField(default=0)
    lessons_counted = models.PositiveIntegerField(default=0)
    attendance_percentage = models.DecimalField(**PERCENT, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "student term attendance"
        ordering = ["student_id", "term_id"]
        constraints = [models.UniqueConstraint(fields=["student", "term"], name="term_attendance_unique")]
        indexes = [models.Index(fields=["school", "term", "attendance_percentage"])]

    def __str__(self) -> str:
        return f"{self.student} {self.term}: {self.attendance_percentage}%"


class SchoolDailySummary(models.Model):
    """One row per school and date with attendance, homework due, fees invoiced or payments received.

    Attendance and homework are rolled up from the school's StudentDailySummary rows of the date;
    money from the invoices issued and payments received that date (void invoices left out).
    """

    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="daily_summaries")
    date = models.DateField()
    students_marked = models.PositiveIntegerField(default=0)
    students_present = models.PositiveIntegerField(default=0, help_text="Students whose day is PRESENT or LATE.")
    students_late = models.PositiveIntegerField(default=0)
    students_absent = models.PositiveIntegerField(default=0)
    students_excused = models.PositiveIntegerField(default=0)
    lessons_attended = models.PositiveIntegerField(default=0)
    lessons_counted = models.PositiveIntegerField(default=0)
    homework_due = models.PositiveIntegerField(default=0)
    homework_on_time = models.PositiveIntegerField(default=0)
    homework_late = models.PositiveIntegerField(default=0)
    amount_invoiced = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    payments_received = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    payments_count = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "school daily summaries"
        ordering = ["school_id", "date"]
        constraints = [models.UniqueConstraint(fields=["school", "date"], name="school_daily_summary_unique")]

    def __str__(self) -> str:
        return f"{self.school} {self.date}"


DAYS = [MinValueValidator(1), MaxValueValidator(366)]
COUNT = [MinValueValidator(1), MaxValueValidator(1000)]


class EarlyWarningSettings(models.Model):
    """A school's early-warning thresholds (docs/metrics.md, "Early-warning flags"), and the date its flags are as of.

    A school without a row uses the defaults (those of the spec). Saving a row recomputes the school's flags.
    """

    school = models.OneToOneField(School, on_delete=models.CASCADE, related_name="early_warning")
    attendance_below = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("90"),
        validators=PERCENT["validators"],
        help_text="Attendance flag: attended / counted below this percentage ...",
    )
    attendance_dates = models.PositiveSmallIntegerField(
        default=20, validators=DAYS, help_text="... over the student's marks on this many latest dates with a mark."
    )
    homework_missing = models.PositiveSmallIntegerField(
        default=3, validators=COUNT, help_text="Homework flag: at least this many homework not handed in on time ..."
    )
    homework_days = models.PositiveSmallIntegerField(
        default=14, validators=DAYS, help_text="... among those due in this many days before the as-of date."
    )
    grade_drop = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("10"),
        validators=PERCENT["validators"],
        help_text="Grades flag: the recent window's mean this many points or more below the window before ...",
    )
    grade_window_days = models.PositiveSmallIntegerField(
        default=28, validators=DAYS, help_text="... each window this many days long ..."
    )
    grade_window_grades = models.PositiveSmallIntegerField(
        default=2, validators=COUNT, help_text="... and needing at least this many grades."
    )
    term_average_below = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("40"),
        validators=PERCENT["validators"],
        help_text="Grades flag too: a subject's term average below this.",
    )
    behaviour_score_at_most = models.SmallIntegerField(
        default=2, validators=within(BEHAVIOUR_SCALE), help_text="Behaviour flag: scores at or below this ..."
    )
    behaviour_scores = models.PositiveSmallIntegerField(
        default=2, validators=COUNT, help_text="... at least this many of them ..."
    )
    behaviour_days = models.PositiveSmallIntegerField(
        default=14, validators=DAYS, help_text="... in this many days up to the as-of date."
    )
    flags_as_of = models.DateField(
        null=True, blank=True, help_text="The date the flags are as of; moved to the new day by the nightly job."
    )

    class Meta:
        verbose_name_plural = "early-warning settings"

    def __str__(self) -> str:
        return f"Early-warning settings of {self.school}"


class StudentFlag(models.Model):
    """One row per student and early-warning rule that holds as of ``as_of``, with the figures behind it."""

    class Reason(models.TextChoices):
        ATTENDANCE = "attendance", "Attendance"
        HOMEWORK = "homework", "Homework"
        GRADES = "grades", "Grades"
        BEHAVIOUR = "behaviour", "Behaviour"

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="flags")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=10, choices=Reason.choices)
    as_of = models.DateField()
    figures = models.JSONField(help_text="The figures behind the flag and the thresholds applied.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["student_id", "reason"]
        constraints = [models.UniqueConstraint(fields=["student", "reason"], name="student_flag_unique")]
        indexes = [models.Index(fields=["school", "reason"])]

    def __str__(self) -> str:
        return f"{self.student}: {self.reason} as of {self.as_of}"


class StudentStandingSnapshot(models.Model):
    """A student's term standing as of one date: the average and position in one subject, or overall (no subject).

    Written by the nightly rank job (``analytics.progress.standing_snapshots_write``) for the day that ended,
    or for past dates by ``calculate_class_ranks --date/--until``. A record of each night, not kept exact
    afterwards: see docs/metrics.md, "Progress over the term".
    """

    student = models.ForeignKey(Student, on_delete=models.CASCADE, related_name="standing_snapshots")
    term = models.ForeignKey(AcademicTerm, on_delete=models.CASCADE, related_name="+")
    school = models.ForeignKey(School, on_delete=models.CASCADE, related_name="+")
    date = models.DateField(help_text="The standing counts the grades of homework due from the term's start to here.")
    subject = models.ForeignKey(
        Subject, on_delete=models.CASCADE, null=True, blank=True, related_name="+", help_text="Empty: overall."
    )
    average = models.DecimalField(**PERCENT)
    rank = models.PositiveIntegerField(null=True, blank=True)
    rank_of = models.PositiveIntegerField(null=True, blank=True, help_text="How many were ranked.")

    class Meta:
        ordering = ["student_id", "date", "subject_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["student", "term", "date", "subject"],
                condition=models.Q(subject__isnull=False),
                name="standing_snapshot_subject_unique",
            ),
            models.UniqueConstraint(
                fields=["student", "term", "date"],
                condition=models.Q(subject__isnull=True),
                name="standing_snapshot_overall_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["term", "date"]),
            models.Index(fields=["student", "term", "date"]),
            # The overall rows of a date with their average (covering on PostgreSQL): the most improved compare
            # two dates' overall averages of every student of a school, read from this index alone.
            models.Index(
                fields=["term", "date", "student"],
                include=["average"],
                condition=models.Q(subject__isnull=True),
                name="standing_snapshot_overall_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student} {self.date} {self.subject or 'overall'}: {self.average}"
