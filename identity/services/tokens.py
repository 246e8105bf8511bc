"""API tokens (DESIGN §15): named, hashed at rest (the secret is returned once), expiring,
scoped, revocable. `token_mint` is the one place a secret is made; `token_create` and
`token_revoke` are the governed services (audit row and webhook event, never the secret)."""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from identity import signals
from identity.access import manages_user, user_for_write
from identity.models import ApiToken, TokenScope
from identity.services.common import emit
from identity.tokens import PREFIX_LENGTH, digest_of, new_secret
from onboarding.errors import Conflict, Forbidden, InvalidInput, NotFound, finding
from onboarding.principal import Principal, principal_for_user


def _invalid(code: str, path: str, message: str) -> InvalidInput:
    return InvalidInput(message, code=code, errors=[finding(code, path, message)])


def token_snapshot(token: ApiToken) -> dict[str, Any]:
    return {
        "id": token.pk,
        "name": token.name,
        "username": token.user.get_username(),
        "prefix": token.prefix,
        "scope": token.scope,
        "tenant_ids": list(token.tenant_ids or []),
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
    }


def _expiry(expires_at: datetime | None) -> datetime:
    now = timezone.now()
    if expires_at is None:
        return now + timedelta(days=settings.TOKEN_DEFAULT_DAYS)
    if timezone.is_naive(expires_at):
        raise _invalid("invalid_expires_at", "/expires_at", "expires_at needs a time zone.")
    if expires_at <= now:
        raise _invalid("invalid_expires_at", "/expires_at", "expires_at must be in the future.")
    if expires_at > now + timedelta(days=settings.TOKEN_MAX_DAYS):
        raise _invalid(
            "invalid_expires_at",
            "/expires_at",
            f"A token lives at most {settings.TOKEN_MAX_DAYS} days (TOKEN_MAX_DAYS).",
        )
    return expires_at


def _checked(user, name: str, scope: str, tenant_ids: list[str] | None) -> tuple[str, list]:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise _invalid("invalid_name", "/name", "name must be 1 to 100 characters.")
    if scope not in TokenScope.values:
        raise _invalid(
            "invalid_scope", "/scope", f"scope must be one of {', '.join(TokenScope.values)}."
        )
    tenant_ids = sorted(set(tenant_ids or []))
    if scope != TokenScope.RUNTIME:
        if tenant_ids:
            raise _invalid(
                "invalid_tenant_ids", "/tenant_ids", "tenant_ids is only for runtime tokens."
            )
        return name, []
    if not tenant_ids:
        raise _invalid(
            "invalid_tenant_ids", "/tenant_ids", "A runtime token names at least one tenant."
        )
    holder = principal_for_user(user)
    unreadable = [t for t in tenant_ids if not holder.can_read_tenant(t)]
    if unreadable:
        raise _invalid(
            "invalid_tenant_ids",
            "/tenant_ids",
            f"{user.get_username()} has no role on {', '.join(unreadable)}.",
        )
    return name, tenant_ids


def token_mint(
    *,
    user,
    name: str,
    scope: str = TokenScope.WRITE,
    tenant_ids: list[str] | None = None,
    expires_at: datetime | None = None,
    created_by: str,
) -> tuple[ApiToken, str]:
    """A new token row and its secret (returned once, never stored). Runs in the caller's
    transaction; no event (token_create and the commands send theirs)."""
    name, tenant_ids = _checked(user, name, scope, tenant_ids)
    secret = new_secret()
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=secret[:PREFIX_LENGTH],
        digest=digest_of(secret),
        scope=scope,
        tenant_ids=tenant_ids,
        expires_at=_expiry(expires_at),
        created_by=created_by,
    )
    return token, secret


def _holder(actor: Principal, username: str | None):
    if username is None or username == actor.username:
        try:
            return get_user_model().objects.get(username=actor.username)
        except get_user_model().DoesNotExist:
            raise NotFound(f"User {actor.username!r} not found.", code="user_not_found") from None
    user = user_for_write(principal=actor, username=username)
    if not manages_user(actor, user):
        raise Forbidden(f"You do not manage {username!r}'s credentials.", code="admin_required")
    return user


def token_create(
    *,
    actor: Principal,
    name: str,
    scope: str = TokenScope.WRITE,
    tenant_ids: list[str] | None = None,
    expires_at: datetime | None = None,
    username: str | None = None,
    via: dict[str, Any] | None = None,
) -> tuple[ApiToken, str]:
    """A token for the acting user, or (an ADMIN) for a user in its scope, e.g. a service
    account. Returns the row and the secret, shown once."""
    with transaction.atomic():
        user = _holder(actor, username)
        if not user.is_active:
            raise Conflict(f"User {user.get_username()!r} is deactivated.", code="user_inactive")
        token, secret = token_mint(
            user=user,
            name=name,
            scope=scope,
            tenant_ids=tenant_ids,
            expires_at=expires_at,
            created_by=actor.username,
        )
        emit(
            signals.token_created,
            ApiToken,
            principal=actor,
            action="token.created",
            summary=f"Token {token.name!r} ({token.scope}) created for {user.get_username()}",
            object_type="api_token",
            object_id=str(token.pk),
            details={"token": token_snapshot(token)},
            via=via,
        )
    return token, secret


def token_for_write(*, actor: Principal, token_id: Any) -> ApiToken:
    missing = NotFound(f"Token {token_id} not found.", code="token_not_found")
    try:
        token = ApiToken.objects.select_related("user").get(pk=int(token_id))
    except (ApiToken.DoesNotExist, ValueError, TypeError):
        raise missing from None
    if token.user.get_username() != actor.username:
        try:
            user_for_write(principal=actor, username=token.user.get_username())
        except NotFound:
            raise missing from None
        if not manages_user(actor, token.user):
            raise Forbidden(
                f"You do not manage {token.user.get_username()!r}'s credentials.",
                code="admin_required",
            )
    return token


def token_revoke(*, actor: Principal, token_id: Any, via: dict[str, Any] | None = None) -> ApiToken:
    with transaction.atomic():
        token = token_for_write(actor=actor, token_id=token_id)
        token = ApiToken.objects.select_for_update().select_related("user").get(pk=token.pk)
        if token.revoked_at is not None:
            return token
        token.revoked_at, token.revoked_by = timezone.now(), actor.username
        # save(), not update(): the runtime's token caches drop it in every process (!auth).
        token.save(update_fields=["revoked_at", "revoked_by"])
        emit(
            signals.token_revoked,
            ApiToken,
            principal=actor,
            action="token.revoked",
            summary=f"Token {token.name!r} of {token.user.get_username()} revoked",
            object_type="api_token",
            object_id=str(token.pk),
            details={"token": token_snapshot(token)},
            via=via,
        )
    return token
