"""Every state change of identity (DESIGN §15). Modules: `common` (events, snapshots, the
self-grant and last-admin guards), `users`, `roles`, `tokens`. Callers import from here."""

from identity.services.roles import GrantOutcome, role_binding_apply, role_grant, role_revoke
from identity.services.tokens import (
    token_create,
    token_for_write,
    token_mint,
    token_revoke,
    token_snapshot,
)
from identity.services.users import identity_exists, user_create, user_deactivate, user_update

__all__ = [
    "GrantOutcome",
    "identity_exists",
    "role_binding_apply",
    "role_grant",
    "role_revoke",
    "token_create",
    "token_for_write",
    "token_mint",
    "token_revoke",
    "token_snapshot",
    "user_create",
    "user_deactivate",
    "user_update",
]
