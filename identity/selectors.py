"""Reads of identity, scoped by the acting principal (identity.access)."""

from django.db.models import Prefetch, Q, QuerySet

from identity.access import managed_users, require_user_admin, user_for_read, visible_users
from identity.models import ApiToken, Profile
from onboarding.principal import Principal
from tenants.models import RoleBinding


def visible_bindings(principal: Principal) -> QuerySet:
    """The bindings a principal may see: all for a platform principal, else its tenants' only
    (a user's roles elsewhere would tell it about other tenants)."""
    bindings = RoleBinding.objects.order_by("tenant_id", "id")
    if principal.is_platform:
        return bindings
    return bindings.filter(tenant_id__in=sorted(principal.tenant_roles))


def user_list(*, principal: Principal, search: str = "", active: bool | None = None) -> QuerySet:
    require_user_admin(principal)
    users = visible_users(principal).select_related("identity_profile")
    if search:
        users = users.filter(
            Q(username__icontains=search)
            | Q(email__icontains=search)
            | Q(identity_profile__display_name__icontains=search)
        )
    if active is not None:
        users = users.filter(is_active=active)
    return users.prefetch_related(
        Prefetch("role_bindings", queryset=visible_bindings(principal), to_attr="visible_roles")
    ).order_by("username")


def user_get(*, principal: Principal, username: str):
    user = user_for_read(principal=principal, username=username)
    require_user_admin(principal)
    user.visible_roles = list(visible_bindings(principal).filter(user=user))
    return user


def token_list(*, principal: Principal, username: str = "", active: bool | None = None) -> QuerySet:
    """The principal's own tokens and those of the users it manages (identity.access)."""
    tokens = ApiToken.objects.select_related("user").filter(
        Q(user__username=principal.username) | Q(user__in=managed_users(principal))
    )
    if username:
        tokens = tokens.filter(user__username=username)
    if active is True:
        tokens = tokens.filter(revoked_at__isnull=True)
    elif active is False:
        tokens = tokens.filter(revoked_at__isnull=False)
    return tokens.order_by("-created_at", "-id")


def is_service_account(user) -> bool:
    """A machine identity: tokens only, never a session (password or SSO)."""
    return Profile.objects.filter(user_id=user.pk, service_account=True).exists()
