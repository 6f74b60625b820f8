from django.apps import AppConfig
from django.core.management import call_command
from django.db.models.signals import post_migrate


def cache_table_create(using: str = "default", **kwargs) -> None:
    """Create the database cache's table if it is configured and missing (idempotent)."""
    call_command("createcachetable", database=using, verbosity=0)


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Accounts"

    def ready(self):
        # Every `migrate` (make demo, make test, a deployment) leaves the cache table in place, also after
        # a move from Redis back to the database cache.
        post_migrate.connect(cache_table_create, sender=self, dispatch_uid="core-cache-table")
