"""Every state change of tenants. Each function owns its transaction and sends its signal."""

import re

from django.db import IntegrityError, transaction

from onboarding.errors import Conflict, Forbidden, InvalidInput, finding
from onboarding.events import DomainEvent, send_event
from onboarding.principal import Principal, require_platform_admin
from tenants import signals
from tenants.access import tenant_for_write
from tenants.identity import check_username, existing_identity, username_taken
from tenants.models import TENANT_ID_PATTERN, Tenant, TenantStatus
from tenants.policy import (
    global_approval_required,
    share_platform_settings,
    tenant_snapshot,
)

_TENANT_ID_RE = re.compile(TENANT_ID_PATTERN)


# Path segments of /admin/packs/tenant/... that a tenant id would shadow.
_RESERVED_TENANT_IDS = {"import"}


def _check_tenant_id(tenant_id: str) -> None:
    if (
        not isinstance(tenant_id, str)
        or not _TENANT_ID_RE.fullmatch(tenant_id)
        or tenant_id.lower() in _RESERVED_TENANT_IDS
    ):
        raise InvalidInput(
            f"tenant_id {tenant_id!r} must match {TENANT_ID_PATTERN}.",
            code="invalid_tenant_id",
            errors=[finding("invalid_tenant_id", "/tenant_id", "Invalid tenant id.")],
        )


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise InvalidInput(
            "name must be 1 to 200 characters.",
            code="invalid_name",
            errors=[finding("invalid_name", "/name", "Name must be 1 to 200 characters.")],
        )
    return name


def _refuse_born_without_approval(require_activation_approval: bool | None) -> None:
    """While the global setting requires approval, a tenant created with approval off would be
    a weakening that no second ADMIN reviewed: create it, then request the change (PATCH, 202).
    The setting is held FOR SHARE so that switching it on cannot cross this decision."""
    if require_activation_approval is not False:
        return
    share_platform_settings()
    if global_approval_required():
        raise Conflict(
            "Activation approval is required platform-wide: a tenant cannot be created with it "
            "switched off. Create the tenant, then request the change (a second ADMIN approves).",
            code="approval_change_needs_review",
            errors=[
                finding(
                    "approval_change_needs_review",
                    "/require_activation_approval",
                    "Switching approval off needs a second ADMIN's review.",
                )
            ],
        )


def tenant_create(
    *,
    principal: Principal,
    tenant_id: str,
    name: str,
    require_activation_approval: bool | None = None,
) -> Tenant:
    require_platform_admin(principal)
    _check_tenant_id(tenant_id)
    name = _check_name(name)
    try:
        with transaction.atomic():
            _refuse_born_without_approval(require_activation_approval)
            existing = _same_tenant_id(tenant_id)
            if existing is not None:
                raise _tenant_exists(tenant_id, existing)
            tenant = Tenant.objects.create(
                tenant_id=tenant_id,
                name=name,
                created_by=principal.username,
                require_activation_approval=require_activation_approval,
            )
            send_event(
                signals.tenant_created,
                Tenant,
                DomainEvent(
                    action="tenant.created",
                    actor=principal.username,
                    summary=f"Tenant {tenant_id} ({name}) created",
                    tenant_id=tenant_id,
                    object_type="tenant",
                    object_id=tenant_id,
                    details={"after": tenant_snapshot(tenant)},
                ),
            )
    except IntegrityError:
        # A concurrent create of the same id in another case won the race: the database's
        # case-insensitive unique index (tenants 0003) refused this one.
        raise _tenant_exists(tenant_id, _same_tenant_id(tenant_id) or tenant_id) from None
    return tenant


def _same_tenant_id(tenant_id: str) -> str | None:
    return (
        Tenant.objects.filter(tenant_id__iexact=tenant_id)
        .values_list("tenant_id", flat=True)
        .first()
    )


def _tenant_exists(tenant_id: str, existing: str) -> Conflict:
    same = "" if existing == tenant_id else f" as {existing!r} (tenant ids ignore case)"
    return Conflict(
        f"Tenant {tenant_id!r} already exists{same}.",
        code="tenant_exists",
        errors=[finding("tenant_exists", "/tenant_id", f"Tenant {existing!r} exists.")],
        extra={"existing_tenant_id": existing},
    )


def tenant_set_status(
    *, principal: Principal, tenant_id: str, status: str, reason: str = ""
) -> Tenant:
    if status not in TenantStatus.values:
        raise InvalidInput(
            f"status must be one of {', '.join(TenantStatus.values)}.",
            code="invalid_status",
            errors=[finding("invalid_status", "/status", f"Unknown status {status!r}.")],
        )
    with transaction.atomic():
        tenant = tenant_for_write(principal=principal, tenant_id=tenant_id, lock=True)
        before = tenant_snapshot(tenant)
        if tenant.status == status:
            return tenant
        if (
            status == TenantStatus.ACTIVE
            and tenant.suspended_by_platform
            and not principal.is_platform_admin
        ):
            # What the platform decided over a tenant, the tenant's own admins cannot undo.
            raise Forbidden(
                f"Tenant {tenant_id} was suspended by a platform ADMIN; only a platform ADMIN "
                "can lift it.",
                code="platform_admin_required",
            )
        tenant.status = status
        tenant.suspended_by_platform = (
            status == TenantStatus.SUSPENDED and principal.is_platform_admin
        )
        tenant.save(update_fields=["status", "suspended_by_platform", "updated_at"])
        # Its receivers record it (audit) and publish it to every serving process (runtime_config).
        send_event(
            signals.tenant_status_changed,
            Tenant,
            DomainEvent(
                action="tenant.status_changed",
                actor=principal.username,
                summary=f"Tenant {tenant_id} {before['status']} → {status}"
                + (f": {reason}" if reason else ""),
                tenant_id=tenant_id,
                object_type="tenant",
                object_id=tenant_id,
                details={
                    "before": before,
                    "after": tenant_snapshot(tenant),
                    "reason": reason,
                    "scope": "platform" if tenant.suspended_by_platform else "tenant",
                },
            ),
        )
    return tenant


def tenant_rename(*, principal: Principal, tenant: Tenant, name: str) -> Tenant:
    """Rename a tenant the caller locked for writing (checked by tenant_for_write), inside the
    caller's transaction."""
    name = _check_name(name)
    before = tenant_snapshot(tenant)
    if tenant.name == name:
        return tenant
    tenant.name = name
    tenant.save(update_fields=["name", "updated_at"])
    # The rename is a change of the tenant's settings: it travels on the policy signal, whose
    # audit receiver records any DomainEvent it is given.
    send_event(
        signals.tenant_policy_changed,
        Tenant,
        DomainEvent(
            action="tenant.updated",
            actor=principal.username,
            summary=f"Tenant {tenant.tenant_id} renamed {before['name']!r} → {name!r}",
            tenant_id=tenant.tenant_id,
            object_type="tenant",
            object_id=tenant.tenant_id,
            details={"before": before, "after": tenant_snapshot(tenant)},
        ),
    )
    return tenant


def user_ensure(*, username: str):
    """The user named exactly `username`, created if there is none. A new name must follow the
    rules of tenants.identity: 400 invalid_username, or 409 username_taken when it is another
    spelling of an existing user's name ("ADMIN" beside "admin")."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    user = users.filter(username=username).first()
    if user is not None:
        return user, False
    check_username(username)
    existing = existing_identity(username)
    if existing is not None:
        raise username_taken(username, existing)
    try:
        with transaction.atomic():
            return users.create(username=username), True
    except IntegrityError:
        # A concurrent creation of the same identity won: the unique key refused this one.
        raise username_taken(username, existing_identity(username) or username) from None
