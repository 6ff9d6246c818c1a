"""Create the database cache's table, so `migrate` alone prepares a database.

The refresh throttle counts requests in the shared cache, which is a database table by default
(CACHES in settings). Django makes that table with `createcachetable`, a step operators following
the usual `migrate` deployment would not know to run; this migration runs it. It creates the
table of every cache configured with the database backend (none when the cache lives elsewhere)
and skips tables that already exist.
"""

from django.conf import settings
from django.core.management import call_command
from django.db import migrations


def create_cache_tables(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


def drop_cache_tables(apps, schema_editor):
    quote = schema_editor.connection.ops.quote_name
    for cache in settings.CACHES.values():
        if cache.get("BACKEND") == "django.core.cache.backends.db.DatabaseCache":
            schema_editor.execute(f"DROP TABLE IF EXISTS {quote(cache['LOCATION'])}")


class Migration(migrations.Migration):
    dependencies = [
        ("refresher", "0003_worker_heartbeat_and_cache_use"),
    ]

    operations = [
        migrations.RunPython(create_cache_tables, drop_cache_tables, elidable=False),
    ]
