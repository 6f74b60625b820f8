from django.contrib.auth.models import AbstractUser
from django.db import models, transaction


class User(AbstractUser):
    """A person who logs in. Their role comes from the profile linked to them (see schools)."""

    class Meta:
        db_table = "core_user"


class TrackedModel(models.Model):
    """Base for source records: audit timestamps, and a save that is one transaction.

    Django sends ``post_save`` after the row is written but outside any transaction it opens, so
    in autocommit mode whatever listens to the save would run after the row is committed. Saving
    inside ``atomic`` makes the row and everything its listeners write commit or roll back together.
    """

    created_at = models.DateTimeField(auto_now_add=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True, editable=False)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        with transaction.atomic(using=kwargs.get("using")):
            super().save(*args, **kwargs)
