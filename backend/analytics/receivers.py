"""Signal receivers: name the summary keys a change touches and hand them to the engine.

Connected in ``AnalyticsConfig.ready()``. They run inside the writer's transaction (source models
save atomically), so a rollback takes the summary change with it. No arithmetic here.
"""

from django.db.models import QuerySet

from analytics.keys import SOURCES, Keys, Source, attendance_keys, communication_keys, marks_keys
from analytics.services import keys_refresh
from schools.models import School, Student

_BY_MODEL = {source.model: source for source in SOURCES}
# Deleting one of these removes every summary row below it by cascade: nothing to recompute.
_CASCADE_ROOTS = (School, Student)


def _changed_fields(source: Source, instance, update_fields) -> bool | None:
    """Whether a tracked field of an existing row changes in this save (None: the row is new)."""
    tracked = [name for name in source.tracked if update_fields is None or name.removesuffix("_id") in update_fields]
    if instance.pk is None:
        return None
    # Locked (PostgreSQL) so that a concurrent writer of the same row is waited for and its change seen.
    old = source.model.objects.select_for_update(no_key=True).filter(pk=instance.pk).values(*tracked).first()
    if old is None:
        return None
    return any(getattr(instance, name) != value for name, value in old.items())


def before_save(sender, instance, raw=False, update_fields=None, **kwargs):
    source = _BY_MODEL[sender]
    changed = None if raw else _changed_fields(source, instance, update_fields)
    instance._analytics_before = source.keys_for([instance.pk], lock=True) if changed else Keys()
    instance._analytics_skip = raw or changed is False


def after_save(sender, instance, raw=False, **kwargs):
    if getattr(instance, "_analytics_skip", raw):
        return
    keys_refresh(keys=instance._analytics_before | _BY_MODEL[sender].keys_for([instance.pk], lock=True))


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
        instance._analytics_before = Keys(teacher=marks.teacher | messages.teacher, school_days=days)
    elif sender is School:
        instance._analytics_before = Keys()
    else:
        instance._analytics_before = _BY_MODEL[sender].keys_for([instance.pk], lock=True)


def after_delete(sender, instance, **kwargs):
    keys = getattr(instance, "_analytics_before", None)
    if keys:
        keys_refresh(keys=keys)


def after_marks_bulk_changed(sender, *, lesson_ids, student_ids, **kwargs):
    keys_refresh(keys=marks_keys(lesson_ids=lesson_ids, student_ids=student_ids, lock=True))
