"""The one access helper for users (DESIGN §15), for both doors: who may see a user (404
otherwise) and who may manage users at all (403).

A platform principal sees every user. A tenant ADMIN sees the users bound to its tenants and the
users bound nowhere yet (a user it just created, waiting for a role); never the users of other
tenants only."""

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from onboarding.errors import Forbidden, NotFound
from onboarding.principal import Principal, Role
from tenants.models import RoleBinding


def require_user_admin(principal: Principal) -> None:
    """Managing users and roles: a platform ADMIN, or an ADMIN of some tenant."""
    if not principal.is_admin_anywhere:
        raise Forbidden("An ADMIN role is required to manage users.", code="admin_required")


def admin_tenant_ids(principal: Principal) -> list[str]:
    return sorted(t for t, role in principal.tenant_roles.items() if role == Role.ADMIN)


def visible_users(principal: Principal) -> QuerySet:
    users = get_user_model().objects.all()
    if principal.is_platform:
        return users
    tenants = sorted(principal.tenant_roles)
    return users.filter(
        Q(role_bindings__tenant_id__in=tenants) | Q(role_bindings__isnull=True)
    ).distinct()


def user_not_found(username: str) -> NotFound:
    return NotFound(f"User {username!r} not found.", code="user_not_found")


def user_for_read(*, principal: Principal, username: str, lock: bool = False):
    if not principal.has_any_role:
        raise user_not_found(username)
    users = visible_users(principal)
    try:
        user = users.get(username=username)
    except (get_user_model().DoesNotExist, ValueError, TypeError):
        raise user_not_found(username) from None
    if lock:
        user = get_user_model().objects.select_for_update().get(pk=user.pk)
    return user


def user_for_write(*, principal: Principal, username: str, lock: bool = False):
    user = user_for_read(principal=principal, username=username, lock=lock)
    require_user_admin(principal)
    return user


def manages_user(principal: Principal, user) -> bool:
    """Whether `principal` may manage `user`'s credentials: a platform ADMIN manages everyone; a
    tenant ADMIN manages a user whose every role is on a tenant it administers (never someone
    with a platform role or a role elsewhere)."""
    if principal.is_platform_admin:
        return True
    mine = set(admin_tenant_ids(principal))
    if not mine:
        return False
    scopes = list(user.role_bindings.values_list("tenant_id", flat=True))
    return bool(scopes) and all(scope in mine for scope in scopes)


def managed_users(principal: Principal) -> QuerySet:
    """The users whose tokens `principal` lists and revokes, beside its own (manages_user)."""
    users = get_user_model().objects.all()
    if principal.is_platform_admin:
        return users
    mine = admin_tenant_ids(principal)
    if not mine:
        return users.none()
    elsewhere = RoleBinding.objects.filter(Q(tenant__isnull=True) | ~Q(tenant_id__in=mine)).values(
        "user_id"
    )
    return users.filter(role_bindings__tenant_id__in=mine).exclude(pk__in=elsewhere).distinct()
