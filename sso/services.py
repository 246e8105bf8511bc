"""The one write of a sign-in through the provider: find or create the user, re-apply the group
mapping, record the login. Runs after Authlib verified the response (state, PKCE, ID token)."""

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

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
    nothing."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise OidcClaimsInvalid("The ID token has no subject (sub).")
    groups = claim_groups(claims)
    role = mapped_role(groups)
    via = {"sso": issuer, "groups": groups}
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
                actor=username,
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
    actor = user.username
    managed = SsoRoleGrant.objects.select_for_update().filter(user=user).first()
    binding = provisioning.platform_binding(user)
    ours = binding is not None and managed is not None and binding.role == managed.role
    if binding is not None and not ours:
        # A role granted by hand: the mapping neither changes nor removes it.
        if managed is not None:
            managed.delete()
        return
    if role is None:
        if ours and (binding.role != Role.ADMIN or provisioning.other_platform_admins(user)):
            provisioning.role_revoke(user=user, binding=binding, actor=actor, via=via)
            managed.delete()
        return
    if binding is None or binding.role != role:
        if ours and binding.role == Role.ADMIN and not provisioning.other_platform_admins(user):
            return  # never take ADMIN from the last platform ADMIN
        provisioning.role_grant(user=user, role=role, actor=actor, via=via)
    SsoRoleGrant.objects.update_or_create(user=user, defaults={"role": role})
