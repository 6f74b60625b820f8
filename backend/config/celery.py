"""The Celery app: `celery -A config worker` and `celery -A config beat`, run from backend/.

Configuration is read from Django settings under the CELERY_ prefix (broker, eager mode, beat schedule).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
