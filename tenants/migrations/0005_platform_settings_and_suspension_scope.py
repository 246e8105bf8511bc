"""Platform settings in the database (DESIGN §14, issue 15): one `platform_settings` row, seeded
from PACK_ACTIVATION_REQUIRES_APPROVAL (the variable seeds it and is never read again), and the
scope of a tenant's suspension."""

from django.conf import settings
from django.db import migrations, models


def seed_settings(apps, schema_editor):
    alias = schema_editor.connection.alias
    platform_settings = apps.get_model("tenants", "PlatformSettings")
    platform_settings.objects.using(alias).get_or_create(
        id=1,
        defaults={
            "require_activation_approval": bool(settings.PACK_ACTIVATION_REQUIRES_APPROVAL),
            "updated_by": "migration",
        },
    )
    # Who suspended an existing tenant is not recorded: the safe reading is the platform, so
    # only a platform ADMIN lifts it.
    apps.get_model("tenants", "Tenant").objects.using(alias).filter(status="SUSPENDED").update(
        suspended_by_platform=True
    )


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0004_username_keys"),
    ]

    operations = [
        migrations.AddField(
            model_name="tenant",
            name="suspended_by_platform",
            field=models.BooleanField(default=False),
        ),
        migrations.CreateModel(
            name="PlatformSettings",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(
                        default=1, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("require_activation_approval", models.BooleanField(default=False)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("updated_by", models.CharField(blank=True, default="", max_length=150)),
            ],
            options={
                "db_table": "platform_settings",
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("id", 1)), name="platform_settings_one_row"
                    )
                ],
            },
        ),
        migrations.RunPython(seed_settings, migrations.RunPython.noop),
    ]
