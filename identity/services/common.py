"""What every identity service shares: the event it sends and the snapshot of a user."""

from typing import Any

from django.contrib.auth import get_user_model

from onboarding.errors import Conflict, Forbidden, finding
from onboarding.events import DomainEvent, send_event
from onboarding.principal import Principal, Role
from tenants.identity import same_identity
from tenants.models import RoleBinding
from tenants.policy import platform_settings_row


def via_details(via: dict[str, Any] | None) -> dict[str, Any]:
    return {"via": via} if via else {}


def emit(
    signal,
    sender,
    *,
    principal: Principal,
    action: str,
    summary: str,
    object_type: str,
    object_id: str,
    tenant_id: str | None = None,
    details: dict[str, Any] | None = None,
    via: dict[str, Any] | None = None,
) -> None:
    send_event(
        signal,
        sender,
        DomainEvent(
            action=action,
            actor=principal.username,
            summary=summary,
            tenant_id=tenant_id,
            object_type=object_type,
            object_id=object_id,
            details={**(details or {}), **via_details(via)},
        ),
    )


def user_snapshot(user) -> dict[str, Any]:
    profile = getattr(user, "identity_profile", None)
    return {
        "username": user.get_username(),
        "email": user.email,
        "display_name": profile.display_name if profile else "",
        "service_account": bool(profile and profile.service_account),
        "is_active": user.is_active,
    }


def binding_snapshot(binding) -> dict[str, Any]:
    return {
        "id": binding.pk,
        "username": binding.user.get_username(),
        "role": binding.role,
        "tenant_id": binding.tenant_id,
    }


def last_admin_guard(user) -> None:
    """409 last_admin when `user` is the last active platform ADMIN. Every removal of a platform
    ADMIN first locks the one platform settings row (FOR UPDATE), so two ADMINs removing each
    other at once are serialised: the second sees the first's commit and is refused."""
    platform_settings_row(lock=True)
    bindings = RoleBinding.objects.filter(
        tenant__isnull=True, role=Role.ADMIN, user__is_active=True
    ).values_list("user_id", flat=True)
    admins = set(bindings)
    admins |= set(
        get_user_model()
        .objects.filter(is_superuser=True, is_active=True)
        .values_list("pk", flat=True)
    )
    if user.pk in admins and not (admins - {user.pk}):
        raise Conflict(
            f"{user.get_username()!r} is the last active platform ADMIN; grant ADMIN to someone "
            "else first.",
            code="last_admin",
            errors=[finding("last_admin", "", "The platform would have no ADMIN left.")],
        )


def refuse_self(principal: Principal, username: str, what: str) -> None:
    if same_identity(principal.username, username):
        raise Forbidden(f"Nobody {what} themselves.", code="self_grant")
