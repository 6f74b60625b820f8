from django.contrib.auth.models import AbstractUser
from django.db import connection, models, transaction


class User(AbstractUser):
    """A person who logs in. Their role comes from the profile linked to them (see schools)."""

    class Meta:
        db_table = "core_user"


def rows_lockable() -> bool:
    """Whether a validation should lock the rows it reads: inside a transaction, on a database with row locks.

    The admin validates and saves in one transaction; a lock taken while validating is held until the save
    commits. SQLite has no row locks and needs none: a writer holds the whole database.
    """
    return connection.in_atomic_block and connection.features.has_select_for_update


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
