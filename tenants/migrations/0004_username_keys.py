"""One identity per username (issue 13, item 10): the NFKC + casefold key of every user's name,
unique. Existing users get their key; names that already share one stop the migration with
their names (which account to keep is an operator's decision)."""

import unicodedata

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _key(username: str) -> str:
    # Frozen copy of tenants.identity.username_key: a migration must not change with the code.
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())


def fill_keys(apps, schema_editor):
    alias = schema_editor.connection.alias
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    keys = apps.get_model("tenants", "UsernameKey")
    seen: dict[str, list[str]] = {}
    rows = []
    for pk, username in user_model.objects.using(alias).values_list("pk", "username"):
        key = _key(username)
        seen.setdefault(key, []).append(username)
        rows.append(keys(user_id=pk, key=key))
    clashes = sorted(names for names in seen.values() if len(names) > 1)
    if clashes:
        raise RuntimeError(
            "Usernames that differ only by case or Unicode form must be merged or renamed "
            f"before this migration: {clashes}"
        )
    keys.objects.using(alias).bulk_create(rows, batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("tenants", "0003_tenant_id_case_insensitive"),
    ]

    operations = [
        migrations.CreateModel(
            name="UsernameKey",
            fields=[
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="username_key",
                        serialize=False,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                ("key", models.CharField(max_length=600, unique=True)),
            ],
            options={"db_table": "username_keys"},
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
    ]
