from django.contrib.auth.models import AbstractUser
from django.db import connection, models, transaction


class User(AbstractUser):
    """A person who logs in. Their role comes from the profile linked to them (see schools)."""

    class Meta:
        db_table = "core_user"

    _password_made_unusable = False

    def set_unusable_password(self):
        super().set_unusable_password()
        self._password_made_unusable = True

    def save(self, *args, **kwargs):
        """Saves the user; a new password or a deactivation also revokes their API tokens, in one transaction.

        A new password is one given to ``set_password`` (every Django form and command changing a
        password uses it; the rehash on sign-in after a hasher upgrade does not count) or
        ``set_unusable_password``. ``QuerySet.update()`` bypasses this: change users one by one.
        """
        update_fields = kwargs.get("update_fields")
        saved = {"password", "is_active"} if update_fields is None else set(update_fields)
        revoke = not self._state.adding and (
            ("password" in saved and (self._password is not None or self._password_made_unusable))
            or ("is_active" in saved and not self.is_active)
        )
        with transaction.atomic(using=kwargs.get("using")):
            super().save(*args, **kwargs)
            if revoke:
                from core.services import user_tokens_revoke  # the services import this module

                user_tokens_revoke(user=self)
        self._password_made_unusable = False


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
