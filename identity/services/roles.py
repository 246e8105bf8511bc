"""Role bindings as governed data (DESIGN §15): grant and revoke. Nobody changes their own
bindings (403 self_grant); a tenant ADMIN grants roles on its tenants only, never a platform role;
the last active platform ADMIN keeps ADMIN (409 last_admin); granting ADMIN while four-eyes
applies to the scope files a change request (`kind: access`, answered by governance through
identity.hooks.admin_grant_review) that another ADMIN approves (`role_binding_apply`)."""

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from identity import hooks, signals
from identity.access import require_user_admin, user_for_write, user_not_found
from identity.services.common import binding_snapshot, emit, last_admin_guard, refuse_self
from onboarding.errors import Conflict, InvalidInput, NotFound, finding
from onboarding.principal import Principal, Role, require_platform_admin
from tenants.access import tenant_for_write
from tenants.models import RoleBinding, Tenant


@dataclass(frozen=True)
class GrantOutcome:
    """A grant applied (`binding`, `created` False when an existing binding changed role), or
    waiting for a second ADMIN (`change_request`)."""

    binding: RoleBinding | None = None
    created: bool = False
    change_request: Any = None


def _check_role(role: str) -> str:
    if role not in Role.values:
        raise InvalidInput(
            f"role must be one of {', '.join(Role.values)}.",
            code="invalid_role",
            errors=[finding("invalid_role", "/role", f"Unknown role {role!r}.")],
        )
    return role


def _scope(principal: Principal, tenant_id: str | None, *, lock: bool = True) -> Tenant | None:
    """The tenant of the binding (None: platform-wide), checked for `principal`."""
    if tenant_id is None:
        require_platform_admin(principal)
        return None
    return tenant_for_write(principal=principal, tenant_id=tenant_id, lock=lock)


def _user_inactive(username: str) -> Conflict:
    return Conflict(
        f"User {username!r} is deactivated.",
        code="user_inactive",
        errors=[finding("user_inactive", "/username", "Reactivate the user first.")],
    )


def role_grant(
    *,
    actor: Principal,
    username: str,
    role: str,
    tenant_id: str | None = None,
    via: dict[str, Any] | None = None,
) -> GrantOutcome:
    require_user_admin(actor)
    _check_role(role)
    refuse_self(actor, username, "changes the roles of")
    with transaction.atomic():
        tenant = _scope(actor, tenant_id)
        user = user_for_write(principal=actor, username=username, lock=True)
        if not user.is_active:
            raise _user_inactive(username)
        current = RoleBinding.objects.filter(user=user, tenant=tenant).first()
        if current is not None and current.role == role:
            return GrantOutcome(binding=current, created=False)
        if current is not None and tenant is None and current.role == Role.ADMIN:
            last_admin_guard(user)  # ADMIN → VIEWER platform-wide is losing ADMIN
        if role == Role.ADMIN:
            change_request = hooks.admin_grant_review(
                principal=actor, user=user, role=role, tenant=tenant
            )
            if change_request is not None:
                return GrantOutcome(change_request=change_request)
        binding, created = _apply(
            actor=actor, user=user, role=role, tenant=tenant, current=current, via=via
        )
    return GrantOutcome(binding=binding, created=created)


def _apply(
    *,
    actor: Principal,
    user,
    role: str,
    tenant: Tenant | None,
    current: RoleBinding | None,
    via: dict[str, Any] | None = None,
    change_request_id: str | None = None,
) -> tuple[RoleBinding, bool]:
    before = binding_snapshot(current) if current is not None else None
    if current is None:
        binding = RoleBinding.objects.create(user=user, role=role, tenant=tenant)
    else:
        binding = current
        binding.role = role
        binding.save(update_fields=["role"])
    scope = tenant.tenant_id if tenant is not None else "the platform"
    details: dict[str, Any] = {"binding": binding_snapshot(binding), "before": before}
    if change_request_id:
        details["change_request_id"] = change_request_id
    emit(
        signals.role_granted,
        RoleBinding,
        principal=actor,
        action="role.granted",
        summary=f"{role} on {scope} granted to {user.get_username()}",
        object_type="role_binding",
        object_id=str(binding.pk),
        tenant_id=tenant.tenant_id if tenant is not None else None,
        details=details,
        via=via,
    )
    return binding, current is None


def role_binding_apply(
    *, actor: Principal, username: str, role: str, tenant_id: str | None, change_request_id: str
) -> RoleBinding:
    """Apply an approved access request (called by governance inside the approval's
    transaction, after its own reviewer checks). The grantee must still be active: 409
    user_inactive otherwise, and the approver must not be the grantee (403 self_grant)."""
    refuse_self(actor, username, "approves a role for")
    tenant = Tenant.objects.select_for_update().get(pk=tenant_id) if tenant_id else None
    try:
        user = get_user_model().objects.select_for_update().get(username=username)
    except get_user_model().DoesNotExist:
        raise user_not_found(username) from None
    if not user.is_active:
        raise _user_inactive(username)
    current = RoleBinding.objects.filter(user=user, tenant=tenant).first()
    if current is not None and current.role == role:
        return current
    binding, _ = _apply(
        actor=actor,
        user=user,
        role=role,
        tenant=tenant,
        current=current,
        change_request_id=change_request_id,
    )
    return binding


def role_revoke(
    *,
    actor: Principal,
    username: str,
    binding_id: Any,
    via: dict[str, Any] | None = None,
) -> RoleBinding:
    require_user_admin(actor)
    refuse_self(actor, username, "changes the roles of")
    missing = NotFound(
        f"Role binding {binding_id} of {username!r} not found.", code="binding_not_found"
    )
    with transaction.atomic():
        user = user_for_write(principal=actor, username=username, lock=True)
        try:
            binding = RoleBinding.objects.select_related("user").get(pk=binding_id, user=user)
        except (RoleBinding.DoesNotExist, ValueError, TypeError):
            raise missing from None
        if binding.tenant_id is not None and not actor.can_read_tenant(binding.tenant_id):
            raise missing
        _scope(actor, binding.tenant_id)
        if binding.tenant_id is None and binding.role == Role.ADMIN:
            last_admin_guard(user)
        snapshot = binding_snapshot(binding)
        scope = binding.tenant_id or "the platform"
        binding.delete()
        emit(
            signals.role_revoked,
            RoleBinding,
            principal=actor,
            action="role.revoked",
            summary=f"{snapshot['role']} on {scope} revoked from {username}",
            object_type="role_binding",
            object_id=str(snapshot["id"]),
            tenant_id=snapshot["tenant_id"],
            details={"binding": snapshot},
            via=via,
        )
    return binding
