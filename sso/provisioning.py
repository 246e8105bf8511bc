"""Users and platform role bindings as SSO needs them, through the identity app's services: the
same rules, audit rows and webhook events as a change an ADMIN makes (`user.created`,
`role.granted`, `role.revoked`), and the same four-eyes: granting ADMIN while approval applies
platform-wide files an access change request that another ADMIN approves. The acting principal
is the group mapping itself (SSO_ACTOR; its name has a space, so no user can have it)."""

from typing import Any

from identity import services as identity
from onboarding.errors import Conflict
from onboarding.principal import Principal
from tenants.models import RoleBinding

SSO_ACTOR = Principal.system("SSO group mapping")


def user_create(*, username: str, email: str, display_name: str, via: dict[str, Any]):
    """A new user without a password (it signs in through the provider) and without any role:
    400 invalid_username, 409 identity_exists when the name is an existing user's identity."""
    return identity.user_create(
        actor=SSO_ACTOR, username=username, email=email, display_name=display_name, via=via
    )


def platform_binding(user) -> RoleBinding | None:
    """The user's platform-wide binding, locked."""
    return RoleBinding.objects.select_for_update().filter(user=user, tenant__isnull=True).first()


GRANTED, REQUESTED, KEPT = "granted", "requested", "kept"


def role_grant(*, user, role: str, via: dict[str, Any]) -> str:
    """Give `user` the platform role `role`: GRANTED; REQUESTED when an access change request
    now waits for a second ADMIN; KEPT when it would take ADMIN from the last platform ADMIN."""
    try:
        outcome = identity.role_grant(
            actor=SSO_ACTOR, username=user.get_username(), role=role, via=via
        )
    except Conflict as refused:
        if refused.code == "last_admin":
            return KEPT
        raise
    return GRANTED if outcome.binding is not None else REQUESTED


def role_revoke(*, user, binding: RoleBinding, via: dict[str, Any]) -> bool:
    """Remove the binding; False when it is the last platform ADMIN's (kept)."""
    try:
        identity.role_revoke(
            actor=SSO_ACTOR, username=user.get_username(), binding_id=binding.pk, via=via
        )
    except Conflict as refused:
        if refused.code == "last_admin":
            return False
        raise
    return True
