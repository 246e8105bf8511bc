"""What a token is, apart from who manages it (DESIGN §15): the secret and its hash, how a
request's token is found (one query: token, user and role bindings), and the checks every use
takes — expiry (401 token_expired), scope (403 token_scope), the user still active. Used by the
DRF authentication class below and by the runtime's cached fast path (runtime_config)."""

import functools
import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from drf_spectacular.authentication import TokenScheme
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from identity.models import ApiToken, TokenScope
from onboarding.errors import Forbidden, NotAuthenticated
from onboarding.principal import Principal, Role
from tenants.models import RoleBinding

KEYWORDS = ("token", "bearer")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SECRET_BYTES = 24  # 48 hex characters
PREFIX_LENGTH = 8


def new_secret() -> str:
    return secrets.token_hex(SECRET_BYTES)


def digest_of(secret: str) -> str:
    """SHA-256 of the secret, hex: a secret is 192 random bits, so a plain hash (no salt, no
    stretching) is enough, and the lookup stays one indexed equality."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class TokenGrant:
    """What a token allows, kept beside the cached principal (no query to check it again)."""

    token_id: int
    scope: str
    tenant_ids: tuple[str, ...]
    expires_at: datetime | None


def grant_of(token: ApiToken) -> TokenGrant:
    return TokenGrant(
        token_id=token.pk,
        scope=token.scope,
        tenant_ids=tuple(token.tenant_ids or ()),
        expires_at=token.expires_at,
    )


def check_grant(grant: TokenGrant, *, method: str, path: str) -> None:
    """401 token_expired, 403 token_scope: `read` = safe methods only; `runtime` = the listed
    tenants' /runtime/... only (safe methods); `write` = whatever the user's roles allow."""
    if grant.expires_at is not None and grant.expires_at <= timezone.now():
        raise NotAuthenticated("This token has expired; create a new one.", code="token_expired")
    if grant.scope == TokenScope.WRITE:
        return
    if method not in SAFE_METHODS:
        raise _out_of_scope(grant, "it may only read")
    if grant.scope == TokenScope.RUNTIME:
        parts = path.split("/")
        # /runtime/tenants/{id}/...
        if len(parts) < 4 or parts[1] != "runtime" or parts[3] not in grant.tenant_ids:
            raise _out_of_scope(grant, "it may only read the runtime of its tenants")


def _out_of_scope(grant: TokenGrant, why: str) -> Forbidden:
    return Forbidden(f"This {grant.scope} token cannot do this: {why}.", code="token_scope")


def scoped_principal(principal: Principal, grant: TokenGrant) -> Principal:
    """The principal a token acts as: a `read` or `runtime` token never writes (its roles read
    as VIEWER), and a `runtime` token sees only its tenants."""
    if grant.scope == TokenScope.WRITE:
        return principal
    if grant.scope == TokenScope.RUNTIME:
        tenants = {t: Role.VIEWER for t in grant.tenant_ids if principal.can_read_tenant(t)}
        return Principal(username=principal.username, tenant_roles=tenants)
    return Principal(
        username=principal.username,
        platform_role=Role.VIEWER if principal.is_platform else None,
        tenant_roles=dict.fromkeys(principal.tenant_roles, Role.VIEWER),
        context_tenant=principal.context_tenant,
    )


@functools.cache
def _credentials_sql() -> str:
    # Plain SQL, built once: the runtime's hot path pays for every compiled ORM query.
    token, user, binding = (
        connection.ops.quote_name(model._meta.db_table)
        for model in (ApiToken, get_user_model(), RoleBinding)
    )
    return (
        "SELECT u.id, u.username, u.is_active, u.is_superuser, t.id, t.scope, t.tenant_ids, "  # noqa: S608
        "t.expires_at, t.revoked_at, rb.id, rb.role, rb.tenant_id "
        f"FROM {token} t JOIN {user} u ON u.id = t.user_id "
        f"LEFT JOIN {binding} rb ON rb.user_id = u.id WHERE t.digest = %s"
    )


def _invalid() -> exceptions.AuthenticationFailed:
    return exceptions.AuthenticationFailed("Invalid token.")


def load_credentials(secret: str):
    """(user with its role bindings prefetched, token) for a secret, in one query; 401 for an
    unknown, revoked or malformed token or an inactive user."""
    if len(secret) > 128 or not (secret.isascii() and secret.isalnum()):
        raise _invalid()
    with connection.cursor() as cursor:
        cursor.execute(_credentials_sql(), [digest_of(secret)])
        rows = cursor.fetchall()
    if not rows:
        raise _invalid()
    user_id, username, is_active, is_superuser, token_id, scope, tenant_ids, expires, revoked = (
        rows[0][:9]
    )
    if revoked is not None:
        raise _invalid()
    if not is_active:
        raise exceptions.AuthenticationFailed("User inactive or deleted.")
    user = get_user_model()(
        id=user_id, username=username, is_active=is_active, is_superuser=is_superuser
    )
    user._state.adding, user._state.db = False, ApiToken.objects.db
    bindings = RoleBinding.objects.filter(user_id=user_id)
    bindings._result_cache = [
        RoleBinding(id=binding_id, user_id=user_id, role=role, tenant_id=tenant_id)
        for *_, binding_id, role, tenant_id in rows
        if binding_id is not None
    ]
    bindings._prefetch_done = True
    user._prefetched_objects_cache = {"role_bindings": bindings}
    token = ApiToken(
        id=token_id,
        user_id=user_id,
        scope=scope,
        tenant_ids=_json_list(tenant_ids),
        expires_at=_aware(expires),
    )
    token._state.adding, token._state.db = False, ApiToken.objects.db
    return user, token


def _json_list(value) -> list:
    if isinstance(value, str):
        return ApiToken._meta.get_field("tenant_ids").from_db_value(value, None, connection)
    return list(value or [])


def _aware(value):
    """A raw SQL datetime as Django's ORM would return it (SQLite gives text, naive UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if timezone.is_naive(value) else value


_last_touch: dict[int, float] = {}


def touch(token_id: int) -> None:
    """Record the token's use, at most once per TOKEN_LAST_USED_SECONDS per process (a
    queryset update: no model signal, nothing else invalidated)."""
    now = time.monotonic()
    last = _last_touch.get(token_id)
    if last is not None and now - last < settings.TOKEN_LAST_USED_SECONDS:
        return
    _last_touch[token_id] = now
    ApiToken.objects.filter(pk=token_id).update(last_used_at=timezone.now())


def secret_from_header(request) -> str | None:
    parts = get_authorization_header(request).split()
    if not parts or parts[0].lower().decode("latin-1") not in KEYWORDS:
        return None
    if len(parts) != 2:
        raise exceptions.AuthenticationFailed("Invalid token header.")
    try:
        return parts[1].decode("ascii")
    except UnicodeError:
        raise _invalid() from None


class HashedTokenAuthentication(BaseAuthentication):
    """`Authorization: Token <secret>` or `Bearer <secret>`, looked up by its SHA-256 (DESIGN
    §15), replacing DRF's plaintext TokenAuthentication. The request's principal is the token's
    scoped principal (scoped_principal)."""

    keyword = "Token"  # what the OpenAPI scheme documents; `Bearer` works as well

    def authenticate(self, request):
        secret = secret_from_header(request)
        if secret is None:
            return None
        user, token = self.credentials(secret)
        grant = grant_of(token)
        check_grant(grant, method=request.method, path=request.path_info)
        touch(token.pk)
        request._request.principal_scope = functools.partial(scoped_principal, grant=grant)
        return user, token

    def credentials(self, secret: str):
        return load_credentials(secret)

    def authenticate_header(self, request) -> str:
        return "Token"


class HashedTokenScheme(TokenScheme):
    target_class = HashedTokenAuthentication
    name = "tokenAuth"
