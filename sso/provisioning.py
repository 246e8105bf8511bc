"""Users and platform role bindings as SSO needs them, over what tenants offers today (its
RoleBinding, the username rules of tenants.identity). The one module to switch when the identity
app's services (`user_create`, `role_grant`, `role_revoke`) are on main. Each function runs in
the caller's transaction and sends the sso signal the audit trail records."""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from onboarding.events import DomainEvent, send_event
from onboarding.principal import Role
from sso import signals
from sso.errors import OidcIdentityExists
from tenants.identity import check_username, existing_identity
from tenants.models import RoleBinding


def _identity_exists(username: str, existing: str) -> OidcIdentityExists:
    return OidcIdentityExists(
        f"The provider's user {username!r} is the same identity as the existing user "
        f"{existing!r}, who does not sign in through this provider. An ADMIN must remove or "
        "rename that user first.",
        extra={"existing_username": existing},
    )


def user_create(*, username: str, email: str, display_name: str, actor: str, via: dict):
    """A new user without a password (it signs in through the provider) and without any role."""
    check_username(username)
    existing = existing_identity(username)
    if existing is not None:
        raise _identity_exists(username, existing)
    users = get_user_model().objects
    try:
        with transaction.atomic():
            user = users.model(username=username, email=email, first_name=display_name[:150])
            user.set_unusable_password()
            user.save()
    except IntegrityError:
        raise _identity_exists(username, existing_identity(username) or username) from None
    send_event(
        signals.sso_user_created,
        RoleBinding,
        DomainEvent(
            action="user.created",
            actor=actor,
            summary=f"User {username} created at first sign-in through SSO",
            object_type="user",
            object_id=username,
            details={"username": username, "email": email, "via": via},
        ),
    )
    return user


def platform_binding(user) -> RoleBinding | None:
    """The user's platform-wide binding, locked."""
    return RoleBinding.objects.select_for_update().filter(user=user, tenant__isnull=True).first()


def other_platform_admins(user) -> bool:
    return (
        RoleBinding.objects.filter(tenant__isnull=True, role=Role.ADMIN, user__is_active=True)
        .exclude(user=user)
        .exists()
    )


def role_grant(*, user, role: str, actor: str, via: dict) -> RoleBinding:
    """Give `user` the platform role `role` (replacing its platform binding if any)."""
    binding = platform_binding(user)
    before = binding.role if binding else None
    if binding is None:
        binding = RoleBinding.objects.create(user=user, role=role, tenant=None)
    else:
        binding.role = role
        binding.save(update_fields=["role"])
    send_event(
        signals.sso_role_granted,
        RoleBinding,
        DomainEvent(
            action="role.granted",
            actor=actor,
            summary=f"{user.username} granted platform {role} by the SSO group mapping",
            object_type="role_binding",
            object_id=str(binding.pk),
            details={
                "username": user.username,
                "role": role,
                "tenant_id": None,
                "before": before,
                "via": via,
            },
        ),
    )
    return binding


def role_revoke(*, user, binding: RoleBinding, actor: str, via: dict) -> None:
    role, pk = binding.role, binding.pk
    binding.delete()
    send_event(
        signals.sso_role_revoked,
        RoleBinding,
        DomainEvent(
            action="role.revoked",
            actor=actor,
            summary=f"{user.username} lost platform {role}: no mapped group any more (SSO)",
            object_type="role_binding",
            object_id=str(pk),
            details={"username": user.username, "role": role, "tenant_id": None, "via": via},
        ),
    )
