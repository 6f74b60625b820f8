"""Signals sent by write paths that bypass per-row model signals (bulk roll call, imports).

Listeners (the analytics engine) refresh what depends on the marks named. Sent inside the
writer's transaction, after the rows are written.
"""

from django.dispatch import Signal

# kwargs: lesson_ids (set[int]), student_ids (set[int]): every mark of these students at these
# lessons may have been created, changed or deleted.
marks_bulk_changed = Signal()
