from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save


class AnalyticsConfig(AppConfig):
    name = "analytics"

    def ready(self) -> None:
        from analytics import receivers
        from analytics.keys import SOURCES
        from attendance.signals import marks_bulk_changed

        for source in SOURCES:
            label = source.model._meta.label
            pre_save.connect(receivers.before_save, sender=source.model, dispatch_uid=f"analytics-pre-save-{label}")
            post_save.connect(receivers.after_save, sender=source.model, dispatch_uid=f"analytics-save-{label}")
            pre_delete.connect(receivers.before_delete, sender=source.model, dispatch_uid=f"analytics-pre-del-{label}")
            post_delete.connect(receivers.after_delete, sender=source.model, dispatch_uid=f"analytics-del-{label}")
        marks_bulk_changed.connect(receivers.after_marks_bulk_changed, dispatch_uid="analytics-marks-bulk")
