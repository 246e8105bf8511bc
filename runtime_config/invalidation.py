"""Who may read the runtime is cached per token in every process (runtime_api), so a change of a
token, a role binding or a user must reach every process like a configuration change does.

These are model signal receivers on purpose: tokens, bindings and users also change through
`issue_token`, Django's admin and the shell, not only through services, and a missed revocation
would keep a token working until the cache's TTL. Receivers only publish `!auth` after the
commit; no business rule lives here. A queryset `.update()` sends no signal: such a change is
seen within RUNTIME_CONFIG_TTL."""

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save

from identity.models import ApiToken
from runtime_config.push import bump_generation_on_commit
from tenants.models import RoleBinding

AUTH_MESSAGE = "!auth"


def _changed(sender, instance=None, update_fields=None, **kwargs) -> None:
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # a login changes nothing a token can do
    bump_generation_on_commit(AUTH_MESSAGE)


def connect() -> None:
    for model in (ApiToken, RoleBinding, get_user_model()):
        post_save.connect(_changed, sender=model, dispatch_uid=f"runtime-auth-save-{model}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"runtime-auth-delete-{model}")
