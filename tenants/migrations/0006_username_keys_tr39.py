"""One identity per look (DESIGN §15, issue 21): every user's key becomes the TR39 confusable
skeleton of its NFKC + casefold form. Names that already share a skeleton ("admin" and "admın")
stop the migration with their names (which account to keep is an operator's decision); going
back restores the NFKC + casefold keys."""

import re
import unicodedata

from django.conf import settings
from django.db import migrations

from tenants.skeleton import skeleton

_SMALL_CAPITAL = re.compile(r"LATIN LETTER SMALL CAPITAL ([A-Z])")


def _folded(username: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())


def _skeleton(username: str) -> str:
    # Frozen copy of tenants.identity.username_key: a migration must not change with the code.
    text = ""
    for char in _folded(username):
        match = _SMALL_CAPITAL.fullmatch(unicodedata.name(char, ""))
        text += match.group(1).lower() if match else char
    return skeleton(text)


def _rekey(apps, schema_editor, key) -> None:
    alias = schema_editor.connection.alias
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    keys = apps.get_model("tenants", "UsernameKey")
    seen: dict[str, list[str]] = {}
    rows = []
    for pk, username in user_model.objects.using(alias).values_list("pk", "username"):
        value = key(username)
        seen.setdefault(value, []).append(username)
        rows.append(keys(user_id=pk, key=value))
    clashes = sorted(names for names in seen.values() if len(names) > 1)
    if clashes:
        raise RuntimeError(
            "Usernames that look alike (same TR39 skeleton) must be merged or renamed before "
            f"this migration: {clashes}"
        )
    keys.objects.using(alias).all().delete()
    keys.objects.using(alias).bulk_create(rows, batch_size=1000)


def forward(apps, schema_editor):
    _rekey(apps, schema_editor, _skeleton)


def backward(apps, schema_editor):
    _rekey(apps, schema_editor, _folded)


class Migration(migrations.Migration):
    dependencies = [("tenants", "0005_platform_settings_and_suspension_scope")]

    operations = [migrations.RunPython(forward, backward)]
