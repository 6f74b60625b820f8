"""Signal receivers: name the summary keys a change touches and hand them to the engine.

Connected in ``AnalyticsConfig.ready()``. They run inside the writer's transaction (source models
save atomically), so a rollback takes the summary change with it. No arithmetic here.
"""

import functools

from django.db.models import QuerySet

from analytics.engine.teacher import school_weeks_of, school_weeks_refresh
from analytics.keys import (
    MARKS,
    SOURCES,
    Keys,
    Source,
    attendance_keys,
    communication_keys,
    marks_keys,
    source_rows_lock,
    submission_keys,
)
from analytics.services import keys_refresh
from core.compiled import CompiledRead
from schools.models import School, Student, Teacher

_BY_MODEL = {source.model: source for source in SOURCES}
# Deleting one of these removes every summary row below it by cascade: nothing to recompute.
_CASCADE_ROOTS = (School, Student)


def _old_values(source: Source, instance, update_fields) -> dict | None:
    """The stored values of the tracked fields this save may change (None: the row is new).

    First the row's parents (those it has and will have), then the row itself, are locked (PostgreSQL),
    in the documented lock order: a concurrent writer of them is waited for and its change seen, and
    the keys named below and after the save come from rows that cannot change until commit.
    """
    tracked = [name for name in source.tracked if update_fields is None or name.removesuffix("_id") in update_fields]
    if instance.pk is not None and not tracked:
        return {}  # nothing this save writes matters to the analytics
    source_rows_lock(source, instance)
    if instance.pk is None:
        return None
    rows = _stored_values(source.model, tuple(tracked))(pk=instance.pk)
    return rows[0] if rows else None


@functools.cache
def _stored_values(model, tracked: tuple[str, ...]) -> CompiledRead:
    """The read of a row's tracked fields, compiled once per model and fields."""
    return CompiledRead(lambda *, pk: model.objects.filter(pk=pk).order_by().values(*tracked), pk=int)


def before_save(sender, instance, raw=False, update_fields=None, **kwargs):
    source = _BY_MODEL[sender]
    old = None if raw else _old_values(source, instance, update_fields)
    changed = {name for name, value in (old or {}).items() if getattr(instance, name) != value}
    instance._analytics_skip = raw or (old is not None and not changed)
    # The rows are locked already (_old_values): the keys are read without locking again.
    instance._analytics_before = source.keys_for([instance.pk]) if changed else Keys()
    # A change that leaves the placing fields alone (a status, a score) feeds the same keys after.
    instance._analytics_moved = old is None or bool(changed & set(source.placing_fields))


def after_save(sender, instance, raw=False, **kwargs):
    if getattr(instance, "_analytics_skip", raw):
        return
    source = _BY_MODEL[sender]
    keys = instance._analytics_before
    if getattr(instance, "_analytics_moved", True):
        keys = keys | source.keys_for([instance.pk])
    else:
        # The grading days count the rows where they are placed (a submission of some homework, its grade), never
        # by a value that can change in place (a score, a time handed in, a maximum): nothing there moved.
        keys.grading = set()
    keys_refresh(keys=_of_kind(keys, source))


def _of_kind(keys: Keys, source: Source) -> Keys:
    """The keys, marked as a change of the source's kind of data only (marks, grades) when it has one."""
    keys.changed = frozenset({source.kind}) if source.kind else None
    return keys


def _cascaded(origin, sender) -> bool:
    model = origin.model if isinstance(origin, QuerySet) else type(origin)
    return issubclass(model, _CASCADE_ROOTS) and not issubclass(sender, model)


def before_delete(sender, instance, origin=None, **kwargs):
    if _cascaded(origin, sender):
        instance._analytics_before = Keys()
    elif sender is Student:
        # Its own rows go by cascade; its teachers' weeks and its school's days lose its marks and messages.
        marks = attendance_keys(instance.attendance_marks.values_list("pk", flat=True), lock=True)
        messages = communication_keys(instance.communications.values_list("pk", flat=True), lock=True)
        days = set(instance.daily_summaries.values_list("school_id", "date"))
        # Its submissions go too: the grading days of their teachers count one fewer not graded.
        submissions = submission_keys(instance.submissions.values_list("pk", flat=True), lock=True)
        instance._analytics_before = Keys(
            teacher=marks.teacher | messages.teacher, school_days=days, grading=submissions.grading
        )
    elif sender is School:
        instance._analytics_before = Keys()
    else:
        if sender is Teacher:
            # Its weeks go by cascade: the school weeks that count them are recomputed after.
            instance._analytics_school_weeks = school_weeks_of(teacher_ids=[instance.pk])
        source = _BY_MODEL[sender]
        instance._analytics_before = _of_kind(source.keys_for([instance.pk], lock=True), source)


def after_delete(sender, instance, **kwargs):
    keys = getattr(instance, "_analytics_before", None)
    if keys:
        keys_refresh(keys=keys)
    if getattr(instance, "_analytics_school_weeks", None):
        school_weeks_refresh(keys=instance._analytics_school_weeks)


def after_marks_bulk_changed(sender, *, lesson_ids, student_ids, **kwargs):
    keys = marks_keys(lesson_ids=lesson_ids, student_ids=student_ids, lock=True)
    keys.changed = frozenset({MARKS})
    keys_refresh(keys=keys)
