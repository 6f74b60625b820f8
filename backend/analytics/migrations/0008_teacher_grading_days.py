"""The teachers' grading days (TeacherGradingDay), filled from the submissions without a grade.

From then on the engine keeps them, in the writer's transaction, as every summary table.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Count


def grading_days_fill(apps, schema_editor):
    submission_model = apps.get_model("homework", "HomeworkSubmission")
    day_model = apps.get_model("analytics", "TeacherGradingDay")
    rows = (
        submission_model.objects.filter(grade__isnull=True)
        .values("homework__teacher_id", "homework__teacher__school_id", "homework__due_date")
        .annotate(homework=Count("homework_id", distinct=True), submissions=Count("id"))
        .order_by()
    )
    day_model.objects.bulk_create(
        [
            day_model(
                teacher_id=row["homework__teacher_id"],
                school_id=row["homework__teacher__school_id"],
                due_date=row["homework__due_date"],
                homework_ungraded=row["homework"],
                submissions_ungraded=row["submissions"],
            )
            for row in rows
        ],
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0007_standing_snapshot_overall_date"),
        ("schools", "0002_integer_bounds"),
        ("homework", "0002_grade_max_score_triggers"),
    ]

    operations = [
        migrations.CreateModel(
            name="TeacherGradingDay",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("due_date", models.DateField()),
                (
                    "homework_ungraded",
                    models.PositiveIntegerField(
                        default=0, help_text="The teacher's homework due that day with a submission not graded."
                    ),
                ),
                (
                    "submissions_ungraded",
                    models.PositiveIntegerField(
                        default=0, help_text="Submissions of the teacher's homework due that day without a grade."
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "school",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="schools.school"
                    ),
                ),
                (
                    "teacher",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="schools.teacher"
                    ),
                ),
            ],
            options={
                "ordering": ["teacher_id", "due_date"],
                "constraints": [
                    models.UniqueConstraint(fields=("teacher", "due_date"), name="teacher_grading_day_unique")
                ],
            },
        ),
        migrations.RunPython(grading_days_fill, migrations.RunPython.noop),
    ]
