"""The runtime's HTTP surface (DESIGN §6, §9): the effective configuration of a tenant and the
exception evaluator. Same authentication and tenant isolation as the admin API.

The config endpoint is on the platform's hot path: it answers from the process cache with the
JSON bytes serialized when the configuration was loaded, and costs no query beyond
authentication (the tenant check uses the principal's roles; existence and status were settled
when the configuration was loaded)."""

import orjson
from django.http import HttpResponse
from drf_spectacular.authentication import TokenScheme
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication

from identity.tokens import (
    HashedTokenAuthentication,
    check_grant,
    grant_of,
    load_credentials,
    scoped_principal,
    touch,
)
from onboarding import ratelimit
from onboarding.api import (
    JsonObjectField,
    RoleApiView,
    StrictCharField,
    StrictIntegerField,
    StrictSerializer,
    TenantIdField,
    problems,
)
from onboarding.api import valid_input as _valid_input
from onboarding.principal import Principal
from runtime_config import cache as _cache
from runtime_config.evaluator import evaluate
from runtime_config.runtime import MAX_REVISION, get_effective_config, parse_min_revision
from tenants.access import tenant_not_found


class TokenWithRolesAuthentication(HashedTokenAuthentication):
    """The hashed token authentication of identity.tokens (one query: token, user and role
    bindings), with the result kept in the process for RUNTIME_CONFIG_TTL: a repeated token
    costs no query. Any change of a token, a role binding or a user is published like a
    configuration change (`!auth`, see runtime_config.invalidation) and drops every cached
    principal in every process; expiry and scope are checked on every use, from the cache."""

    def credentials(self, secret: str):
        cached = _cached(secret)
        return cached[0], cached[1]


def _cached(secret: str):
    """(user, token, principal, grant) for a secret, from the process cache when known."""
    cached = _cache.principal_lookup(secret)
    if cached is not None:
        return cached
    epoch = _cache.state.epoch
    user, token = load_credentials(secret)
    cached = (user, token, Principal.from_user(user), grant_of(token))
    _cache.principal_store(secret, cached, epoch)
    return cached


def principal_for_token(key: str, *, path: str) -> Principal:
    """The principal a token acts as on GET `path` (raises AuthenticationFailed like the
    authentication class, 401 token_expired, 403 token_scope), from the process cache."""
    _, token, principal, grant = _cached(key)
    check_grant(grant, method="GET", path=path)
    touch(token.pk)
    return scoped_principal(principal, grant)


class TokenWithRolesScheme(TokenScheme):
    # The same `Authorization: Token <key>` header as the admin API, under its own component
    # name (drf-spectacular refuses two classes behind one name).
    target_class = TokenWithRolesAuthentication
    name = "runtimeTokenAuth"
    priority = 1


AUTHENTICATION = [TokenWithRolesAuthentication, SessionAuthentication]


def _require_read(principal, tenant_id: str) -> None:
    if not principal.can_read_tenant(tenant_id):
        raise tenant_not_found(tenant_id)


def etag_matches(header: str | None, etag: str) -> bool:
    """If-None-Match uses the weak comparison (RFC 9110 §13.1.2)."""
    if not header:
        return False
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False


EffectiveConfigOutput = inline_serializer(
    "EffectiveConfig",
    {
        "tenant_id": serializers.CharField(),
        "domain": serializers.CharField(),
        "revision": serializers.IntegerField(),
        "source": serializers.CharField(help_text="`database`, or `file` (file fallback)"),
        "activated_at": serializers.DateTimeField(allow_null=True),
        "domain_pack": serializers.DictField(help_text="{domain, version, checksum}"),
        "tenant_pack": serializers.DictField(
            allow_null=True, help_text="{version, checksum}, or null without a tenant pack"
        ),
        "config": serializers.DictField(
            help_text="The domain pack merged with the tenant pack: severityOverrides, "
            "guardrails, approvedTools, humanApprovalRules, playbooks (tenant's first)."
        ),
    },
)

DecisionOutput = inline_serializer(
    "ExceptionDecision",
    {
        "tenant_id": serializers.CharField(),
        "exception_type": serializers.CharField(),
        "severity": serializers.CharField(),
        "requires_approval": serializers.BooleanField(),
        "playbook": serializers.DictField(allow_null=True),
        "tools": serializers.ListField(child=serializers.CharField()),
        "blocked_tools": serializers.ListField(child=serializers.DictField()),
        "explanation": serializers.DictField(
            help_text="summary, severity {decided_by, rule, override, default}, playbook, "
            "approval {rule, guardrail}, packs {source, revision, domain_pack, tenant_pack}"
        ),
    },
)


class EvaluateInput(StrictSerializer):
    tenant_id = TenantIdField()  # an id that names no tenant is a 404, whatever its length
    exception_type = StrictCharField(max_length=200)
    payload = JsonObjectField(required=False, default=dict)
    min_revision = StrictIntegerField(
        min_value=0, max_value=MAX_REVISION, required=False, allow_null=True, default=None
    )


class RuntimeConfigView(RoleApiView):
    """The tenant's effective configuration as the runtime uses it: the active domain pack merged
    with the tenant pack, both versions and checksums. Conditional GET: send the ETag back in
    If-None-Match to get 304 while nothing changed."""

    authentication_classes = AUTHENTICATION

    @extend_schema(
        operation_id="runtime_config_retrieve",
        parameters=[
            OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER),
            OpenApiParameter(
                "min_revision",
                int,
                description="Read-your-writes: never answer with an older revision (409 "
                "`revision_not_available` when the tenant has not reached it).",
            ),
        ],
        responses={
            200: EffectiveConfigOutput,
            304: OpenApiResponse(description="Not modified (If-None-Match matched the ETag)"),
            **problems(
                400,
                401,
                403,
                404,
                409,
                s400="`invalid_min_revision`",
                s404="Unknown tenant, or no active configuration (`no_active_config`)",
                s409="`tenant_suspended`, `revision_not_available`",
            ),
        },
    )
    def get(self, request, tenant_id: str):
        min_revision = parse_min_revision(request.GET.get("min_revision"))
        return config_response(request, self.principal, tenant_id, min_revision)


def config_response(request, principal, tenant_id: str, min_revision: int | None) -> HttpResponse:
    """The config endpoint's answer once the caller is known (both routes: runtime_config.fastpath
    and the view above)."""
    _require_read(principal, tenant_id)
    config = get_effective_config(tenant_id, min_revision)
    if etag_matches(request.headers.get("If-None-Match"), config.etag):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(config.body, content_type="application/json")
    response["ETag"] = config.etag
    response["Cache-Control"] = "no-cache"
    return response


class EvaluateView(RoleApiView):
    """Evaluate one exception against the tenant's active configuration: severity, playbook,
    whether approval is required, blocked tools, and an explanation naming the rule, override,
    playbook and pack versions that decided it. Writes nothing."""

    authentication_classes = AUTHENTICATION

    @extend_schema(
        operation_id="exceptions_evaluate",
        request=EvaluateInput,
        responses={
            200: DecisionOutput,
            **problems(
                400,
                401,
                403,
                404,
                409,
                429,
                s400="Invalid body, or `unknown_exception_type`",
                s404="Unknown tenant, or no active configuration (`no_active_config`)",
                s409="`tenant_suspended`, `revision_not_available` (`min_revision`)",
            ),
        },
    )
    def post(self, request):
        ratelimit.enforce(request, "evaluate")
        data = _valid_input(EvaluateInput, request.data)
        _require_read(self.principal, data["tenant_id"])
        decision = evaluate(
            tenant_id=data["tenant_id"],
            exception_type=data["exception_type"],
            payload=data["payload"],
            min_revision=data["min_revision"],
        )
        return HttpResponse(orjson.dumps(decision), content_type="application/json")
