"""Django's database cache table: with CACHE_URL unset it carries the runtime generation counter,
which every process must see (the local-memory cache would leave other workers stale)."""

from django.db import migrations

TABLE = "onboarding_cache"


def forward(apps, schema_editor):
    from django.core.management import call_command

    call_command("createcachetable", TABLE, database=schema_editor.connection.alias, verbosity=0)


def backward(apps, schema_editor):
    schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(TABLE)}")


class Migration(migrations.Migration):
    dependencies = [("runtime_config", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
