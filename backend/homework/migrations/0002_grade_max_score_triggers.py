"""The database keeps each grade's copy of its homework's max_score, so CHECK (score <= max_score) holds always.

Before, ``Homework.save`` updated the copies and ``Grade.save`` copied the value it had read: a grade
recorded while the maximum was being lowered kept the old maximum (a grade of 15 stored as 15/20 under a
homework now out of 10). Now:

- writing a grade (insert, or a change of its submission, score or copy) sets the copy from the homework,
  on PostgreSQL reading the homework row under a lock (``FOR NO KEY UPDATE``: the lock the writers take on
  the homework first, in the documented lock order), so an edit of max_score waits for the grade or the
  grade for the edit;
- changing a homework's max_score (or moving a submission to another homework) updates the copies, and a
  grade above the new maximum fails the CHECK: the change is refused.

SQLite runs one writer at a time, so its triggers need no lock.

Existing copies that differ from their homework are brought in line first, except a grade above its
homework's maximum (left by the old race): it keeps its old copy, so the migration does not fail, and
the school corrects it (saving that grade or its homework then checks it against the maximum). Find them
with: grades whose ``score`` is above ``submission.homework.max_score``.
"""

from django.db import migrations

POSTGRESQL_FORWARDS = [
    """
    CREATE FUNCTION homework_grade_max_score_copy() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        SELECT h.max_score INTO NEW.max_score
        FROM homework_homework h JOIN homework_homeworksubmission s ON s.homework_id = h.id
        WHERE s.id = NEW.submission_id
        FOR NO KEY UPDATE OF h;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER homework_grade_max_score_copy
    BEFORE INSERT OR UPDATE OF submission_id, score, max_score ON homework_grade
    FOR EACH ROW EXECUTE FUNCTION homework_grade_max_score_copy()
    """,
    """
    CREATE FUNCTION homework_max_score_to_grades() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE homework_grade g SET max_score = NEW.max_score
        FROM homework_homeworksubmission s
        WHERE s.id = g.submission_id AND s.homework_id = NEW.id AND g.max_score <> NEW.max_score;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER homework_max_score_to_grades
    AFTER UPDATE OF max_score ON homework_homework
    FOR EACH ROW WHEN (OLD.max_score IS DISTINCT FROM NEW.max_score)
    EXECUTE FUNCTION homework_max_score_to_grades()
    """,
    """
    CREATE FUNCTION homework_submission_moved_grade() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        -- Re-setting the copy fires homework_grade_max_score_copy, which reads the new homework's maximum.
        UPDATE homework_grade SET max_score = max_score WHERE submission_id = NEW.id;
        RETURN NULL;
    END $$
    """,
    """
    CREATE TRIGGER homework_submission_moved_grade
    AFTER UPDATE OF homework_id ON homework_homeworksubmission
    FOR EACH ROW WHEN (OLD.homework_id IS DISTINCT FROM NEW.homework_id)
    EXECUTE FUNCTION homework_submission_moved_grade()
    """,
]
POSTGRESQL_BACKWARDS = [
    "DROP TRIGGER IF EXISTS homework_submission_moved_grade ON homework_homeworksubmission",
    "DROP FUNCTION IF EXISTS homework_submission_moved_grade()",
    "DROP TRIGGER IF EXISTS homework_max_score_to_grades ON homework_homework",
    "DROP FUNCTION IF EXISTS homework_max_score_to_grades()",
    "DROP TRIGGER IF EXISTS homework_grade_max_score_copy ON homework_grade",
    "DROP FUNCTION IF EXISTS homework_grade_max_score_copy()",
]

_SQLITE_HOMEWORK_MAX = """
    (SELECT h.max_score FROM homework_homework h JOIN homework_homeworksubmission s ON s.homework_id = h.id
     WHERE s.id = NEW.submission_id)
"""
SQLITE_FORWARDS = [
    f"""
    CREATE TRIGGER homework_grade_max_score_copy_insert AFTER INSERT ON homework_grade
    BEGIN
        UPDATE homework_grade SET max_score = {_SQLITE_HOMEWORK_MAX} WHERE id = NEW.id;
    END
    """,
    f"""
    CREATE TRIGGER homework_grade_max_score_copy_update
    AFTER UPDATE OF submission_id, score, max_score ON homework_grade
    BEGIN
        UPDATE homework_grade SET max_score = {_SQLITE_HOMEWORK_MAX} WHERE id = NEW.id;
    END
    """,
    """
    CREATE TRIGGER homework_max_score_to_grades AFTER UPDATE OF max_score ON homework_homework
    WHEN OLD.max_score IS NOT NEW.max_score
    BEGIN
        UPDATE homework_grade SET max_score = NEW.max_score
        WHERE submission_id IN (SELECT id FROM homework_homeworksubmission WHERE homework_id = NEW.id);
    END
    """,
    """
    CREATE TRIGGER homework_submission_moved_grade AFTER UPDATE OF homework_id ON homework_homeworksubmission
    WHEN OLD.homework_id IS NOT NEW.homework_id
    BEGIN
        UPDATE homework_grade SET max_score = (SELECT max_score FROM homework_homework WHERE id = NEW.homework_id)
        WHERE submission_id = NEW.id;
    END
    """,
]
SQLITE_BACKWARDS = [
    "DROP TRIGGER IF EXISTS homework_submission_moved_grade",
    "DROP TRIGGER IF EXISTS homework_max_score_to_grades",
    "DROP TRIGGER IF EXISTS homework_grade_max_score_copy_update",
    "DROP TRIGGER IF EXISTS homework_grade_max_score_copy_insert",
]


COPIES_SYNC = """
    UPDATE homework_grade SET max_score = (
        SELECT h.max_score FROM homework_homework h JOIN homework_homeworksubmission s ON s.homework_id = h.id
        WHERE s.id = homework_grade.submission_id
    )
    WHERE max_score <> (
        SELECT h.max_score FROM homework_homework h JOIN homework_homeworksubmission s ON s.homework_id = h.id
        WHERE s.id = homework_grade.submission_id
    )
    AND score <= (
        SELECT h.max_score FROM homework_homework h JOIN homework_homeworksubmission s ON s.homework_id = h.id
        WHERE s.id = homework_grade.submission_id
    )
"""


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("homework", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": [COPIES_SYNC, *POSTGRESQL_FORWARDS], "sqlite": [COPIES_SYNC, *SQLITE_FORWARDS]}),
            _run({"postgresql": POSTGRESQL_BACKWARDS, "sqlite": SQLITE_BACKWARDS}),
        ),
    ]
