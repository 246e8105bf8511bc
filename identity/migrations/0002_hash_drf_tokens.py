"""Existing DRF tokens keep working (issue 21): each plaintext key of `authtoken_token` becomes
a hashed `api_tokens` row (name "migrated", scope write, no expiry: what the key could do before),
and the plaintext table is emptied. Going back cannot restore a plaintext key (only its hash is
kept): the migrated rows are removed and their holders need new tokens."""

import hashlib

from django.db import migrations


def forward(apps, schema_editor):
    alias = schema_editor.connection.alias
    legacy = apps.get_model("authtoken", "Token")
    tokens = apps.get_model("identity", "ApiToken")
    rows = [
        tokens(
            user_id=row.user_id,
            name="migrated",
            prefix=row.key[:8],
            digest=hashlib.sha256(row.key.encode("ascii")).hexdigest(),
            scope="write",
            tenant_ids=[],
            created_by="migration",
            expires_at=None,
        )
        for row in legacy.objects.using(alias).all()
    ]
    tokens.objects.using(alias).bulk_create(rows, batch_size=1000)
    legacy.objects.using(alias).all().delete()


def backward(apps, schema_editor):
    apps.get_model("identity", "ApiToken").objects.using(schema_editor.connection.alias).filter(
        name="migrated", created_by="migration"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("identity", "0001_initial"),
        ("authtoken", "0004_alter_tokenproxy_options"),
    ]

    operations = [migrations.RunPython(forward, backward)]
