"""Scheduled activations moved from runtime_config to governance (issue 24): the task rows that
django-tasks keeps name their function by its dotted path, so rows enqueued before the move are
pointed at its new home. Reversible."""

from django.db import migrations

OLD = "runtime_config.services.scheduling.apply_scheduled_change"
NEW = "governance.services.scheduling.apply_scheduled_change"


def _rename(apps, old: str, new: str) -> None:
    tasks = apps.get_model("django_tasks_database", "DBTaskResult")
    tasks.objects.filter(task_path=old).update(task_path=new)


def forwards(apps, schema_editor):
    _rename(apps, OLD, NEW)


def backwards(apps, schema_editor):
    _rename(apps, NEW, OLD)


class Migration(migrations.Migration):
    dependencies = [
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
        ("runtime_config", "0005_policy_change_requests"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
