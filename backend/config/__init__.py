# Load the Celery app with Django, so tasks queued by the web process use its configuration.
from config.celery import app as celery_app

__all__ = ("celery_app",)
