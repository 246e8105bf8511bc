"""Who may call what (DESIGN §4), for EVERY endpoint of DESIGN §6, generated from ONE table.

Each row: an endpoint (URL name and method), how to call it on TENANT_A's resources, and the
expected status for each actor. Columns:
  anon     no credentials                       nobody   authenticated, no role
  viewer   platform VIEWER                      member   VIEWER of TENANT_A
  admin    platform ADMIN                       own      ADMIN of TENANT_A
  other    ADMIN of TENANT_B (acting on TENANT_A's resources)
Every actor makes the same request. `test_every_api_url_is_in_table` walks the URL resolver and
fails while a route under /admin, /runtime or /ops (or one of its HTTP methods) has no row.
"""

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.views import APIView

from audit.models import AuditEvent
from governance.services import config_activate
from packs.services import playbook_link_create
from rollouts.services import rollout_create
from runtime_config.models import ConfigChangeRequest
from tenants.principals import Principal
from tests.api.conftest import (
    FINANCE,
    PROBLEM,
    send,
    store_domain_pack,
    store_tenant_pack,
    tenant_content,
)
from tests.conftest import load_reference, make_actor
from tests.db_state import db_state
from webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from webhooks.services import webhook_create

ACTORS = ("anon", "nobody", "viewer", "member", "admin", "own", "other")
SETUP = Principal.system("setup")


def _statuses(anon, nobody, viewer, member, admin, own, other) -> dict[str, int]:
    return dict(zip(ACTORS, (anon, nobody, viewer, member, admin, own, other), strict=True))


#                           anon nobody viewer member admin own other
READ_SHARED = _statuses(401, 403, 200, 200, 200, 200, 200)  # everyone with a role
READ_TENANT = _statuses(401, 403, 200, 200, 200, 200, 404)  # isolation: 404, never 403
WRITE_TENANT = _statuses(401, 403, 403, 403, 200, 200, 404)
CREATE_TENANT = _statuses(401, 403, 403, 403, 201, 201, 404)
DELETE_TENANT = _statuses(401, 403, 403, 403, 204, 204, 404)
WRITE_PLATFORM = _statuses(401, 403, 403, 403, 200, 403, 403)  # platform ADMIN only
CREATE_PLATFORM = _statuses(401, 403, 403, 403, 201, 403, 403)
ADMINS_LIST = _statuses(401, 403, 403, 403, 200, 200, 200)  # ADMINs only, filtered per tenant
CREATE_ANY_ROLE = _statuses(401, 403, 201, 201, 201, 201, 201)
CREATE_ANY_ADMIN = _statuses(401, 403, 403, 403, 201, 201, 201)  # every ADMIN adds users
ACCEPT_TENANT = _statuses(401, 403, 403, 403, 202, 202, 404)
# Only the requester cancels a request (none of these actors filed the world's one).
REQUESTER_ONLY = _statuses(401, 403, 403, 403, 403, 403, 404)
# Allowed, then refused by the state (a running rollout cannot be resumed; its tenant cannot
# join a second one).
CONFLICT_TENANT = _statuses(401, 403, 403, 403, 409, 409, 404)
# A tenant's approval policy: platform ADMINs (a tenant's own admins may not loosen it).
POLICY_TENANT = _statuses(401, 403, 403, 403, 200, 403, 404)

# The codes a refusal may carry, by status (404: the code of a missing resource, see
# test_other_tenants_resource__404_exactly_like_a_missing_one).
DENIAL_CODES = {
    401: {"not_authenticated"},
    403: {"no_role", "admin_required", "platform_admin_required", "not_requester"},
    404: {
        "tenant_not_found",
        "change_request_not_found",
        "playbook_link_not_found",
        "webhook_not_found",
        "webhook_delivery_not_found",
        "rollout_not_found",
        "audit_event_not_found",
        "user_not_found",
        "token_not_found",
    },
    # Allowed, refused by the state: the world's rollout holds TENANT_A and is running.
    409: {"tenant_in_rollout", "invalid_transition"},
}

# Page-only routes (no API view): the page door answers them, there is nothing to authorize.
PAGE_ONLY = {"packs-page", "ops-page"}
PREFIXES = ("admin/", "runtime/", "ops/")


@dataclass(frozen=True)
class Row:
    url_name: str
    method: str
    expected: dict[str, int]
    # (world) -> url kwargs; the world holds the ids created by the fixture
    kwargs: Callable[[dict], dict] = lambda w: {}
    query: str = ""
    body: Callable[[dict], Any] | None = None
    label: str = ""
    # A body that is not JSON (the sample set's JSON Lines): sent as is with this content type.
    content_type: str = ""

    @property
    def id(self) -> str:
        return f"{self.method}-{self.url_name}" + (f"-{self.label}" if self.label else "")


def _tenant(w):
    return {"tenant_id": "TENANT_A"}


def _domain_version(w):
    return {"domain": FINANCE, "version": "v1.0"}


def _tenant_version(w):
    return {"tenant_id": "TENANT_A", "version": "v1.0"}


def _change(w):
    return {"id": w["change_id"]}


def _rollout(w):
    return {"id": w["rollout_id"]}


def _webhook(w):
    return {"webhook_id": w["webhook_id"]}


def _carol(w):
    return {"username": "carol"}


def _hook_body(tenant_id: str | None):
    def body(w):
        hook = {"url": "https://hooks.example.com/in", "events": ["config.activated"]}
        return hook if tenant_id is None else {**hook, "tenant_id": tenant_id}

    return body


def _domain_pack_body(w):
    return {"content": load_reference("domain_capital_markets.json"), "version": "v9.0"}


def _tenant_pack_body(w):
    content = tenant_content(load_reference("tenant_finance_001.json"), "TENANT_A")
    return {"tenant_id": "TENANT_A", "content": content, "version": "v9.0"}


def _tenant_validate_body(w):
    content = tenant_content(load_reference("tenant_finance_001.json"), "TENANT_A")
    return {"pack_type": "tenant", "tenant_id": "TENANT_A", "content": content}


TABLE: list[Row] = [
    # tenants
    Row("tenant-list", "GET", READ_SHARED),
    Row(
        "tenant-list",
        "POST",
        CREATE_PLATFORM,
        body=lambda w: {"tenant_id": "NEW_TENANT", "name": "New"},
    ),
    Row("tenant-detail", "GET", READ_TENANT, _tenant),
    Row("tenant-detail", "PATCH", WRITE_TENANT, _tenant, body=lambda w: {"name": "Renamed"}),
    Row(
        "tenant-detail",
        "PATCH",
        POLICY_TENANT,
        _tenant,
        body=lambda w: {"require_activation_approval": True},
        label="policy",
    ),
    Row("tenant-status", "PATCH", WRITE_TENANT, _tenant, body=lambda w: {"status": "SUSPENDED"}),
    # platform settings (platform ADMIN only, reading included)
    Row("platform-settings", "GET", WRITE_PLATFORM),
    Row(
        "platform-settings",
        "PATCH",
        WRITE_PLATFORM,
        body=lambda w: {"require_activation_approval": True},
    ),
    # packs
    Row("domain-pack-import", "POST", CREATE_PLATFORM, body=_domain_pack_body),
    Row("tenant-pack-import", "POST", CREATE_TENANT, body=_tenant_pack_body),
    Row(
        "pack-validate",
        "POST",
        READ_SHARED,
        body=lambda w: {"pack_type": "domain", "content": {"domainName": FINANCE}},
    ),
    Row("pack-validate", "POST", READ_TENANT, body=_tenant_validate_body, label="tenant"),
    Row("domain-pack-list", "GET", READ_SHARED),
    Row("domain-pack-detail", "GET", READ_SHARED, _domain_version),
    Row(
        "domain-pack-status",
        "PATCH",
        WRITE_PLATFORM,
        lambda w: {"domain": FINANCE, "version": "v1.1"},
        body=lambda w: {"status": "ACTIVE"},
    ),
    Row(
        "domain-pack-diff",
        "GET",
        READ_SHARED,
        lambda w: {"domain": FINANCE},
        query="?from=v1.0&to=v1.1",
    ),
    Row("tenant-pack-list", "GET", READ_TENANT, _tenant),
    Row("tenant-pack-detail", "GET", READ_TENANT, _tenant_version),
    Row(
        "tenant-pack-status",
        "PATCH",
        WRITE_TENANT,
        lambda w: {"tenant_id": "TENANT_A", "version": "v1.2"},
        body=lambda w: {"status": "ACTIVE"},
    ),
    Row("tenant-pack-diff", "GET", READ_TENANT, _tenant, query="?from=v1.0&to=v1.1"),
    Row("pack-schema", "GET", READ_SHARED, lambda w: {"pack_type": "domain"}),
    Row("pack-schema", "GET", READ_SHARED, lambda w: {"pack_type": "tenant"}, label="tenant"),
    # activation, history, approvals
    Row(
        "config-activate",
        "POST",
        WRITE_TENANT,
        body=lambda w: {"tenant_id": "TENANT_A", "tenant_pack_version": "v1.2"},
    ),
    Row(
        "config-activate",
        "POST",
        WRITE_TENANT,
        body=lambda w: {"tenant_id": "TENANT_A", "tenant_pack_version": "v1.2", "dry_run": True},
        label="dry-run",
    ),
    Row("tenant-activations", "GET", READ_TENANT, _tenant),
    Row("tenant-convergence", "GET", READ_TENANT, _tenant),
    Row("tenant-rollback", "POST", WRITE_TENANT, _tenant, body=lambda w: {}),
    Row("config-change-list", "GET", READ_SHARED),  # filtered for other tenants, never a 404
    Row("config-change-list", "GET", READ_SHARED, query="?tenant_id=TENANT_A", label="filtered"),
    Row("config-change-detail", "GET", READ_TENANT, _change),
    Row("config-change-approve", "POST", WRITE_TENANT, _change, body=lambda w: {}),
    Row("config-change-reject", "POST", WRITE_TENANT, _change, body=lambda w: {}),
    Row("config-change-cancel", "POST", REQUESTER_ONLY, _change, body=lambda w: {}),
    # decision impact: the tenant's sample set
    Row("tenant-samples", "GET", READ_TENANT, _tenant),
    Row(
        "tenant-samples",
        "PUT",
        WRITE_TENANT,
        _tenant,
        body=lambda w: '{"exception_type": "CASH_BREAK", "payload": {}}\n',
        content_type="application/x-ndjson",
    ),
    # playbooks
    Row("playbook-list", "GET", READ_TENANT, query="?tenant_id=TENANT_A"),
    Row("playbook-list", "GET", READ_SHARED, query=f"?domain={FINANCE}", label="catalogue"),
    Row(
        "playbook-link-create",
        "POST",
        CREATE_TENANT,
        body=lambda w: {"tenant_id": "TENANT_A", "playbook_id": "SETTLEMENT_FAIL"},
    ),
    Row("playbook-link-delete", "DELETE", DELETE_TENANT, lambda w: {"link_id": w["link_id"]}),
    # audit (a filtered list: another tenant's rows are simply absent)
    Row("audit-list", "GET", READ_SHARED),
    Row("audit-list", "GET", READ_SHARED, query="?tenant_id=TENANT_A", label="filtered"),
    Row("audit-list", "GET", READ_SHARED, query="?format=csv", label="csv"),
    Row("audit-event", "GET", READ_TENANT, lambda w: {"event_id": w["audit_event_id"]}),
    # webhooks (ADMINs; a tenant ADMIN manages its tenant's hooks)
    Row("webhook-list", "GET", ADMINS_LIST),
    Row("webhook-list", "POST", CREATE_TENANT, body=_hook_body("TENANT_A")),
    Row("webhook-list", "POST", CREATE_PLATFORM, body=_hook_body(None), label="platform"),
    Row("webhook-detail", "GET", WRITE_TENANT, _webhook),
    Row("webhook-detail", "PATCH", WRITE_TENANT, _webhook, body=lambda w: {"active": False}),
    Row("webhook-detail", "DELETE", DELETE_TENANT, _webhook),
    Row("webhook-deliveries", "GET", WRITE_TENANT, _webhook),
    Row(
        "webhook-redeliver",
        "POST",
        ACCEPT_TENANT,
        lambda w: {"webhook_id": w["webhook_id"], "delivery_id": w["delivery_id"]},
        body=lambda w: {},
    ),
    Row("webhook-resume", "POST", WRITE_TENANT, _webhook, body=lambda w: {}),
    # rollouts (the world's one is RUNNING, TENANT_A only)
    Row("rollout-list", "GET", READ_SHARED),
    Row(
        "rollout-list",
        "POST",
        CONFLICT_TENANT,
        body=lambda w: {
            "domain": FINANCE,
            "domain_pack_version": "v1.1",
            "tenants": ["TENANT_A"],
            "waves": [{"percent": 100}],
            "bake_seconds": 0,
            "dry_run": True,
        },
        label="dry-run",
    ),
    Row("rollout-detail", "GET", READ_TENANT, _rollout),
    Row("rollout-pause", "POST", WRITE_TENANT, _rollout, body=lambda w: {}),
    Row("rollout-resume", "POST", CONFLICT_TENANT, _rollout, body=lambda w: {}),
    Row("rollout-advance", "POST", WRITE_TENANT, _rollout, body=lambda w: {}),
    Row("rollout-abort", "POST", WRITE_TENANT, _rollout, body=lambda w: {}),
    Row("rollout-alarm", "POST", WRITE_TENANT, _rollout, body=lambda w: {"reason": "probe"}),
    # identity (DESIGN §15): ADMINs manage users; carol is a VIEWER of TENANT_A
    Row("user-list", "GET", ADMINS_LIST),
    Row("user-list", "POST", CREATE_ANY_ADMIN, body=lambda w: {"username": "dave"}),
    Row("user-detail", "GET", WRITE_TENANT, _carol),
    Row("user-detail", "PATCH", WRITE_TENANT, _carol, body=lambda w: {"display_name": "C"}),
    Row(
        "user-roles",
        "POST",
        WRITE_TENANT,
        _carol,
        body=lambda w: {"role": "ADMIN", "tenant_id": "TENANT_A"},
    ),
    # tokens: everyone with a role manages their own; ADMINs revoke those of users they manage
    Row("token-list", "GET", READ_SHARED),
    Row("token-list", "POST", CREATE_ANY_ROLE, body=lambda w: {"name": "ci", "scope": "read"}),
    Row("token-detail", "DELETE", DELETE_TENANT, lambda w: {"token_id": w["carol_token_id"]}),
    Row(
        "user-role-detail",
        "DELETE",
        DELETE_TENANT,
        lambda w: {"username": "carol", "binding_id": w["carol_binding_id"]},
    ),
    # runtime
    Row("runtime-config", "GET", READ_TENANT, _tenant),
    Row(
        "exceptions-evaluate",
        "POST",
        READ_TENANT,
        body=lambda w: {
            "tenant_id": "TENANT_A",
            "exception_type": "SETTLEMENT_FAIL",
            "payload": {},
        },
    ),
]

CELLS = [pytest.param(row, actor, id=f"{row.id}-{actor}") for row in TABLE for actor in ACTORS]


@pytest.fixture
def world(tenant_a, tenant_b, finance_domain, finance_tenant, second_admin) -> dict[str, Any]:
    """TENANT_A at revision 2 (tenant packs v1.0 then v1.1, v1.2 still DRAFT), domain pack v1.0
    active and v1.1 DRAFT, one PENDING change request of A (to v1.2, by second_admin) and one
    playbook link of A; TENANT_B with its own tenant pack v1.0."""
    store_domain_pack(finance_domain, "v1.0")
    store_domain_pack(finance_domain, "v1.1")
    for version in ("v1.0", "v1.1", "v1.2"):
        store_tenant_pack("TENANT_A", finance_tenant, version)
    store_tenant_pack("TENANT_B", finance_tenant, "v1.0")
    config_activate(
        principal=SETUP,
        tenant_id="TENANT_A",
        domain_pack_version="v1.0",
        tenant_pack_version="v1.0",
    )
    outcome = config_activate(principal=SETUP, tenant_id="TENANT_A", tenant_pack_version="v1.1")
    config = outcome.config
    change = ConfigChangeRequest.objects.create(
        tenant=tenant_a,
        domain=config.domain,
        domain_pack=config.domain_pack,
        tenant_pack=config.tenant_pack.__class__.objects.get(tenant_id="TENANT_A", version="v1.2"),
        base_revision=config.revision,
        requested_by=second_admin.username,
    )
    link = playbook_link_create(principal=SETUP, tenant_id="TENANT_A", playbook_id="POSITION_BREAK")
    hook = webhook_create(
        principal=SETUP,
        url="https://hooks.example.com/a",
        events=["config.activated"],
        tenant_id="TENANT_A",
    ).subscription
    # Paused by its circuit breaker, so that resuming it is a write the matrix can check.
    WebhookSubscription.objects.filter(pk=hook.pk).update(
        paused_at=timezone.now(), paused_until=timezone.now(), failure_streak=5
    )
    event = WebhookEvent.objects.create(
        type="config.activated", occurred_at=hook.created_at, tenant_id="TENANT_A"
    )
    delivery = WebhookDelivery.objects.create(
        event=event,
        subscription=hook,
        status="DELIVERED",
        next_attempt_at=hook.created_at,
        created_at=hook.created_at,
    )
    rollout = rollout_create(
        principal=SETUP,
        domain=FINANCE,
        domain_pack_version="v1.1",
        tenants=["TENANT_A"],
        waves=[{"tenants": ["TENANT_A"]}],
        bake_seconds=3600,
    ).rollout
    carol = make_actor("carol", "VIEWER", tenant_a)
    return {
        "audit_event_id": AuditEvent.objects.filter(tenant_id="TENANT_A").latest("id").pk,
        "rollout_id": rollout.pk,
        "carol_binding_id": carol.user.role_bindings.get().pk,
        "carol_token_id": carol.user.api_tokens.get().pk,
        "change_id": change.pk,
        "link_id": link.pk,
        "webhook_id": hook.pk,
        "delivery_id": delivery.pk,
    }


@pytest.fixture
def clients(anon, nobody, viewer, member, admin, owner, outsider) -> dict[str, Any]:
    return {
        "anon": anon,
        "nobody": nobody.client,
        "viewer": viewer.client,
        "member": member.client,
        "admin": admin.client,
        "own": owner.client,
        "other": outsider.client,
    }


def state() -> dict[str, Any]:
    """Everything a refused request must leave as it was (refused reviews are counted apart,
    below)."""
    return db_state()


@pytest.mark.parametrize(("row", "actor"), CELLS)
def test_rbac_matrix(world, clients, row: Row, actor: str):
    url = reverse(row.url_name, kwargs=row.kwargs(world)) + row.query
    body = row.body(world) if row.body else None
    before = state()
    refusals = AuditEvent.objects.filter(action="change_request.review_refused")
    refusals_before = refusals.count()
    response = send_row(row, clients[actor], url, body)
    expected = row.expected[actor]
    assert response.status_code == expected, (actor, url, response.content[:600])
    if expected >= 400:
        assert response["Content-Type"].startswith(PROBLEM)
        assert state() == before, "a refused request wrote something"
        # Only a refused review of a request the actor can see leaves its one row, in the
        # request's tenant (a 404 leaves none).
        recorded = list(refusals.order_by("id")[refusals_before:])
        if row.url_name.startswith("config-change-") and expected == 403 and actor != "nobody":
            assert [(r.actor, r.tenant_id) for r in recorded] == [
                (response.wsgi_request.user.username, "TENANT_A")
            ]
        else:
            assert recorded == []
        code = response.json()["code"]
        assert code in DENIAL_CODES[expected], response.json()
        assert (code == "no_role") == (actor == "nobody"), code


def send_row(row: Row, client, url: str, body: Any, **extra):
    if row.content_type:
        call = getattr(client, row.method.lower())
        return call(url, data=body, content_type=row.content_type, **extra)
    return send(client, row.method, url, body, **extra)


def _api_routes(resolvers=None, prefix: str = ""):
    """(route, url name, view class) of every URL pattern, walking included URLconfs."""
    for entry in (resolvers or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from _api_routes(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), entry.name, getattr(entry.callback, "cls", None)


def _guarded_routes():
    return [
        (route, name, view)
        for route, name, view in _api_routes()
        if route.startswith(PREFIXES) or route in ("admin", "runtime", "ops")
    ]


def test_every_api_url_is_in_table():
    """Adding an endpoint without a row here fails: no endpoint escapes the matrix."""
    covered = {(row.url_name, row.method) for row in TABLE}
    missing = []
    for route, name, view in _guarded_routes():
        assert name, f"route {route!r} has no name"
        if name in PAGE_ONLY:
            continue
        assert view is not None and issubclass(view, APIView), (route, name)
        methods = [m.upper() for m in view.http_method_names if hasattr(view, m)]
        missing += [
            (name, method)
            for method in methods
            if method not in ("OPTIONS", "HEAD") and (name, method) not in covered
        ]
    assert missing == [], f"endpoints without an RBAC row: {missing}"


def test_page_only_routes_are_not_api_views():
    """PAGE_ONLY cannot hide an API endpoint from the matrix."""
    found = {name: view for _, name, view in _guarded_routes() if name in PAGE_ONLY}
    assert set(found) == PAGE_ONLY
    assert all(view is None or not issubclass(view, APIView) for view in found.values())


def test_table_names_only_existing_routes():
    names = {name for _, name, _ in _guarded_routes()}
    assert {row.url_name for row in TABLE} <= names


def _request(row: Row, world: dict, tenant_id: str = "TENANT_A") -> tuple[str, Any]:
    url = reverse(row.url_name, kwargs=row.kwargs(world)) + row.query
    body = row.body(world) if row.body else None
    if tenant_id != "TENANT_A":
        url = url.replace("TENANT_A", tenant_id)
        body = json.loads(json.dumps(body).replace("TENANT_A", tenant_id))
    return url, body


HIDDEN = [pytest.param(row, id=row.id) for row in TABLE if row.expected["other"] == 404]


@pytest.mark.parametrize("row", HIDDEN)
def test_other_tenants_resource__404_exactly_like_a_missing_one(world, outsider, row: Row):
    """Another tenant's resource and one that does not exist get the same problem, but for the
    id they echo: nothing tells an outsider that TENANT_A (or its change request, its playbook
    link) exists."""
    missing = {
        "carol_binding_id": world["carol_binding_id"] + 1000,
        "carol_token_id": world["carol_token_id"] + 1000,
        "change_id": uuid.uuid4(),
        "link_id": world["link_id"] + 1000,
        "webhook_id": world["webhook_id"] + 1000,
        "delivery_id": world["delivery_id"] + 1000,
        "rollout_id": uuid.uuid4(),
        "audit_event_id": world["audit_event_id"] + 1_000_000,
    }
    hidden = send_row(row, outsider.client, *_request(row, world))
    absent = send_row(row, outsider.client, *_request(row, missing, "TENANT_Z"))
    assert hidden.status_code == absent.status_code == 404, (hidden.content, absent.content)
    assert hidden["Content-Type"] == absent["Content-Type"]
    text = absent.content.decode()
    for real, fake in (("TENANT_A", "TENANT_Z"), *((world[k], missing[k]) for k in missing)):
        text = text.replace(str(fake), str(real))
    assert hidden.json() == json.loads(text)


@pytest.mark.parametrize("row", [pytest.param(row, id=row.id) for row in TABLE])
def test_tenant_bound_principal_naming_another_tenant__403_tenant_context_mismatch(
    world, owner, row: Row
):
    before = state()
    response = send_row(row, owner.client, *_request(row, world), HTTP_X_TENANT_ID="TENANT_B")
    assert response.status_code == 403, response.content[:600]
    assert response["Content-Type"].startswith(PROBLEM)
    assert response.json()["code"] == "tenant_context_mismatch"
    assert state() == before


@pytest.mark.parametrize("name", sorted({row.url_name for row in TABLE}))
def test_unsupported_method__405_problem(world, admin, name):
    row = next(row for row in TABLE if row.url_name == name)
    url, _ = _request(row, world)
    # A path that takes PUT (the sample set) is asked with the method none of its rows uses.
    takes_put = any(other.method == "PUT" for other in TABLE if other.url_name == name)
    call = admin.client.delete if takes_put else admin.client.put
    response = call(url, data="{}", content_type="application/json")
    assert response.status_code == 405, response.content[:300]
    assert response["Content-Type"].startswith(PROBLEM)
    assert response.json()["code"] == "method_not_allowed"
