"""The username rules of tenants.identity on every path that saves a user, Django's admin and
createsuperuser included: a model-level guard like the audit trail's append-only guard. The key
row is written in the same transaction as the user whenever the caller holds one (issue_token,
seed_demo and the admin do); its unique constraint refuses the loser of a concurrent race."""

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save, pre_save

from tenants.identity import check_username, existing_identity, username_key, username_taken
from tenants.models import UsernameKey


def guard_username(sender, instance, update_fields=None, **kwargs) -> None:
    if update_fields is not None and "username" not in update_fields:
        return  # e.g. last_login on every login: the name does not move
    if not instance._state.adding:
        stored = UsernameKey.objects.filter(user_id=instance.pk).values_list("key", flat=True)
        if stored.first() == username_key(instance.get_username()):
            return  # unchanged (names from before the rules keep working)
    check_username(instance.get_username())
    existing = existing_identity(instance.get_username(), exclude_pk=instance.pk)
    if existing is not None:
        raise username_taken(instance.get_username(), existing)


def store_username_key(sender, instance, update_fields=None, **kwargs) -> None:
    if update_fields is not None and "username" not in update_fields:
        return
    UsernameKey.objects.update_or_create(
        user=instance, defaults={"key": username_key(instance.get_username())}
    )


def connect() -> None:
    user_model = get_user_model()
    pre_save.connect(guard_username, sender=user_model, dispatch_uid="tenants.guard_username")
    post_save.connect(store_username_key, sender=user_model, dispatch_uid="tenants.username_key")
