"""Writes of source rows that bypass the per-row signals are made only where the engine is told of them."""

import textwrap
from pathlib import Path

from django.apps import apps

from tests.bulk_writes import BulkWrite, bulk_writes_in, bulk_writes_under

BACKEND = Path(__file__).resolve().parent.parent
SOURCE_APPS = ("schools", "attendance", "homework", "communication", "finance")

# Every place outside the tests that writes source rows with no per-row signal, and how the
# analytics engine learns of it (or why it needs not). Keyed by (module, function, method).
ALLOWED = {
    ("attendance/services.py", "roll_call_record", "bulk_create"): (
        "the roll call's one upsert; it sends marks_bulk_changed with the lesson and students it wrote"
    ),
    ("attendance/services.py", "roll_call_record", "_raw_delete"): (
        "the roll call's one delete of the marks left out; those students are in its marks_bulk_changed"
    ),
    ("finance/models.py", "FeeInvoice.refresh_status", "update"): (
        "moves a status among OPEN, PARTIAL and PAID, which no figure reads (only VOID is, and it neither "
        "sets nor clears VOID); the payment whose save calls it refreshes the school days itself"
    ),
    ("simulation/writers.py", "_bulk", "bulk_create"): (
        "the simulator's bulk mode; BulkWriter.finish calls analytics_rebuild for the school it wrote"
    ),
    ("simulation/services.py", "demo_users_ensure", "update"): (
        "unlinks a login from other students: Student.user feeds no figure (not a tracked field)"
    ),
    ("benchmarks/service.py", "bench_school_ensure", "update"): "renames the benchmark school: no figure reads it",
    ("analytics/engine/machinery.py", "apply", "bulk_create"): "the engine's own upsert of summary rows",
    ("analytics/engine/machinery.py", "apply", "delete"): "the engine's own delete of summary rows",
    ("analytics/migrations/0006_school_teacher_weeks.py", "school_weeks_fill", "bulk_create"): (
        "fills the new summary table of school weeks from the teacher weeks stored before it; writes no source row"
    ),
    ("analytics/migrations/0008_teacher_grading_days.py", "grading_days_fill", "bulk_create"): (
        "fills the new summary table of grading days from the submissions without a grade; writes no source row"
    ),
}


def _model_names() -> tuple[set[str], set[str], set[str], set[str]]:
    """Names of the source models, of the other models, of the related managers of source rows, and the
    source tables."""
    source = {model for model in apps.get_models() if model._meta.app_label in SOURCE_APPS}
    relations = set()
    for model in apps.get_models():
        for relation in model._meta.related_objects:
            if relation.related_model in source:
                relations.add(relation.get_accessor_name())
        relations.update(field.name for field in model._meta.many_to_many if field.related_model in source)
    others = {model.__name__ for model in apps.get_models()} - {model.__name__ for model in source}
    tables = {model._meta.db_table.lower() for model in source}
    return {model.__name__ for model in source}, others, relations, tables


def _found_in_the_code() -> list[BulkWrite]:
    source, others, relations, tables = _model_names()
    return bulk_writes_under(BACKEND, source_models=source, other_models=others, relations=relations, tables=tables)


def test_only_the_designated_paths_write_source_rows_without_signals():
    found = _found_in_the_code()
    unexpected = [write for write in found if write.place not in ALLOWED]
    assert not unexpected, (
        "Source rows written with no per-row signal, so the analytics engine never hears of them. Save row "
        "by row through a service, or send the bulk signal / call the engine's refresh and add the place "
        f"to ALLOWED with the reason: {unexpected}"
    )
    assert {write.place for write in found} == ALLOWED.keys(), "ALLOWED names a place that no longer exists"


def _check(code: str) -> list[tuple[str, str]]:
    found = bulk_writes_in(
        textwrap.dedent(code),
        path="planted.py",
        source_models={"FeeInvoice", "Attendance"},
        other_models={"JobRun"},
        relations={"marks", "payments"},
        tables={"finance_feeinvoice", "attendance_attendance"},
    )
    return [(write.function, write.method) for write in found]


def test_the_check_catches_planted_bulk_writes():
    code = """
        def void_all(modeladmin, request, queryset):
            queryset.update(status="VOID")

        class LessonAdmin:
            def clear(self, lesson):
                lesson.marks.all().delete()
                lesson.marks.update(status="ABSENT")

        def rename(ids):
            FeeInvoice.objects.filter(pk__in=ids).update(description="x")
            FeeInvoice._default_manager.bulk_update([], ["amount"])
            Attendance.objects.bulk_create([])
            type(rows[0]).objects.bulk_create(rows)

        def purge(rows):
            rows._raw_delete(rows.db)
            Attendance.objects.all().delete()

        VOID_ALL = "UPDATE finance_feeinvoice SET status = 'VOID'"

        def raw(cursor, table):
            cursor.execute("DELETE FROM attendance_attendance WHERE lesson_id = %s", [1])
            cursor.execute(VOID_ALL)
            cursor.execute(f'INSERT INTO "finance_feeinvoice" (amount) VALUES ({table})')
    """
    assert _check(code) == [
        ("void_all", "update"),
        ("LessonAdmin.clear", "delete"),
        ("LessonAdmin.clear", "update"),
        ("rename", "update"),
        ("rename", "bulk_update"),
        ("rename", "bulk_create"),
        ("rename", "bulk_create"),
        ("purge", "_raw_delete"),
        ("purge", "delete"),
        ("raw", "sql"),
        ("raw", "sql"),
        ("raw", "sql"),
    ]


def test_the_check_leaves_per_row_writes_and_other_tables_alone():
    code = """
        def fine(invoice, keys, counts):
            invoice.save(update_fields=["status"])
            invoice.delete()
            invoice.payments.create(amount=1)
            FeeInvoice.objects.update_or_create(pk=1, defaults={})
            JobRun.objects.filter(pk=1).update(status="DONE")
            keys.update({1})
            counts[0].update(a=1)
            {}.update(a=1)
            cursor.execute("UPDATE analytics_jobrun SET status = 'DONE'")
            cursor.execute("INSERT INTO x SELECT * FROM finance_feeinvoice ON CONFLICT (id) DO UPDATE SET a = 1")
    """
    assert _check(code) == []


def test_test_code_is_not_checked():
    found = _found_in_the_code()
    assert found, "the check found nothing at all: it is not reading the code"
    assert not [write for write in found if "tests" in Path(write.path).parts]
