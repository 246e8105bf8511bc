"""The one write of a sign-in through the provider: find or create the user, re-apply the group
mapping, record the login. Runs after Authlib verified the response (state, PKCE, ID token)."""

from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from onboarding.errors import Conflict
from onboarding.events import DomainEvent, send_event
from onboarding.principal import Role
from sso import provisioning, signals
from sso.errors import OidcClaimsInvalid, UserInactive
from sso.models import OidcIdentity, SsoRoleGrant


@dataclass(frozen=True)
class SsoLogin:
    user: object
    created: bool
    role: str | None  # the platform role the mapping gives (None: no mapped group)
    groups: list[str]


def mapped_role(groups: list[str]) -> str | None:
    """The highest platform role OIDC_GROUP_ROLES gives any of `groups`."""
    roles = {
        settings.OIDC_GROUP_ROLES[group] for group in groups if group in settings.OIDC_GROUP_ROLES
    }
    if Role.ADMIN in roles:
        return Role.ADMIN
    if Role.VIEWER in roles:
        return Role.VIEWER
    return None


def claim_groups(claims: dict) -> list[str]:
    raw = claims.get(settings.OIDC_GROUPS_CLAIM)
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(group, str) for group in raw):
        raise OidcClaimsInvalid(
            f"The {settings.OIDC_GROUPS_CLAIM!r} claim must be a list of group names."
        )
    return raw


def _username(claims: dict) -> str:
    for name in ("preferred_username", "email"):
        value = claims.get(name)
        if isinstance(value, str) and value:
            return value
    return str(claims["sub"])


def sso_login_complete(*, issuer: str, claims: dict) -> SsoLogin:
    """Sign in the provider's account `claims["sub"]` of `issuer`: the user linked to it, or a new
    user (no role unless the mapping gives one); its platform binding follows the mapping when
    the mapping granted it (a role granted by hand stays). One transaction: a refusal writes
    nothing. Two first sign-ins of one account at once (a double click, two tabs) both succeed:
    the one that lost the race to create the user finds it linked and signs in as it."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise OidcClaimsInvalid("The ID token has no subject (sub).")
    groups = claim_groups(claims)
    try:
        return _sign_in(issuer=issuer, subject=subject, claims=claims, groups=groups)
    except (Conflict, IntegrityError):
        if not OidcIdentity.objects.filter(issuer=issuer, subject=subject).exists():
            raise
    return _sign_in(issuer=issuer, subject=subject, claims=claims, groups=groups)


def _sign_in(*, issuer: str, subject: str, claims: dict, groups: list[str]) -> SsoLogin:
    role = mapped_role(groups)
    # Only the groups the mapping names: they explain the role; a person's other groups (often
    # hundreds) stay out of the audit trail and the webhook events.
    via = {"sso": issuer, "groups": [g for g in groups if g in settings.OIDC_GROUP_ROLES]}
    with transaction.atomic():
        link = (
            OidcIdentity.objects.select_for_update()
            .select_related("user")
            .filter(issuer=issuer, subject=subject)
            .first()
        )
        created = link is None
        if link is None:
            username = _username(claims)
            user = provisioning.user_create(
                username=username,
                email=str(claims.get("email") or ""),
                display_name=str(claims.get("name") or ""),
                via=via,
            )
            link = OidcIdentity.objects.create(user=user, issuer=issuer, subject=subject)
        user = link.user
        if not user.is_active:
            raise UserInactive(f"User {user.username} is deactivated; an ADMIN can reactivate it.")
        _apply_mapping(user=user, role=role, via=via)
        link.last_login_at = timezone.now()
        link.save(update_fields=["last_login_at"])
        send_event(
            signals.sso_logged_in,
            OidcIdentity,
            DomainEvent(
                action="user.login",
                actor=user.username,
                summary=f"{user.username} signed in through SSO",
                object_type="user",
                object_id=user.username,
                details={"via": via, "mapped_role": role},
            ),
        )
    return SsoLogin(user=user, created=created, role=role, groups=groups)


def _apply_mapping(*, user, role: str | None, via: dict) -> None:
    """Make the user's platform binding follow the mapping, where the mapping owns it."""
    managed = SsoRoleGrant.objects.select_for_update().filter(user=user).first()
    if managed is None:
        managed = SsoRoleGrant(user=user)
    binding = provisioning.platform_binding(user)
    if binding is not None and managed.requested_role == binding.role:
        managed.role, managed.requested_role = binding.role, None  # approved by a second ADMIN
    if binding is not None and binding.role != managed.role:
        # A role granted by hand: the mapping neither changes nor removes it.
        _save(managed, role=None, requested_role=None)
        return
    if role is None:
        if binding is not None and not provisioning.role_revoke(
            user=user, binding=binding, via=via
        ):
            return  # the last platform ADMIN keeps ADMIN
        _save(managed, role=None, requested_role=None)
        return
    if binding is None or binding.role != role:
        if managed.requested_role == role:
            return  # its access request still waits for a second ADMIN
        outcome = provisioning.role_grant(user=user, role=role, via=via)
        if outcome == provisioning.REQUESTED:
            _save(managed, role=managed.role, requested_role=role)
            return
        if outcome == provisioning.KEPT:
            return
    _save(managed, role=role, requested_role=None)


def _save(managed: SsoRoleGrant, *, role: str | None, requested_role: str | None) -> None:
    if role is None and requested_role is None:
        if not managed._state.adding:
            managed.delete()
        return
    managed.role, managed.requested_role = role, requested_role
    managed.save()
