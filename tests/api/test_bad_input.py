"""Bad input for every write endpoint (issue 4, Tests): each answer is problem+json with its
status and code, and nothing is written."""

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import override_settings
from django.urls import reverse

from governance.services import config_activate
from packs.models import TenantPack
from packs.services import playbook_link_create
from runtime_config.models import ConfigChangeRequest
from tenants.principals import Principal
from tests.api.conftest import (
    FINANCE,
    assert_problem,
    assert_problem_shape,
    send,
    store_domain_pack,
    store_tenant_pack,
    tenant_content,
)
from tests.conftest import load_reference
from tests.db_state import db_state


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    url_name: str
    kwargs: dict
    required: tuple[str, ...]
    # field -> a value of the wrong JSON type
    wrong_types: dict[str, Any]

    def url(self) -> str:
        return reverse(self.url_name, kwargs=self.kwargs)

    def valid_body(self) -> dict:
        return VALID_BODIES[self.name]()


VALID_BODIES = {
    "tenant-create": lambda: {"tenant_id": "NEW_TENANT", "name": "New"},
    "tenant-update": lambda: {"name": "Renamed", "require_activation_approval": True},
    "tenant-status": lambda: {"status": "SUSPENDED", "reason": "test"},
    "domain-import": lambda: {
        "content": load_reference("domain_capital_markets.json"),
        "version": "v9.0",
    },
    "tenant-import": lambda: {
        "tenant_id": "TENANT_A",
        "content": tenant_content(load_reference("tenant_finance_001.json"), "TENANT_A"),
        "version": "v9.0",
    },
    "validate": lambda: {"pack_type": "domain", "content": {"domainName": FINANCE}},
    "domain-status": lambda: {"status": "ACTIVE"},
    "tenant-status-pack": lambda: {"status": "ACTIVE"},
    "activate": lambda: {
        "tenant_id": "TENANT_A",
        "domain": FINANCE,
        "domain_pack_version": "v1.0",
        "tenant_pack_version": "v1.0",
        "expected_revision": 0,
        "comment": "go",
        "dry_run": False,
    },
    "rollback": lambda: {"to_revision": 1, "expected_revision": 2, "comment": "back"},
    "approve": lambda: {"comment": "ok"},
    "reject": lambda: {"comment": "no"},
    "cancel": lambda: {"comment": "never mind"},
    "link-create": lambda: {
        "tenant_id": "TENANT_A",
        "playbook_id": "SETTLEMENT_FAIL",
        "domain": FINANCE,
        "domain_pack_version": "v1.0",
    },
    "evaluate": lambda: {
        "tenant_id": "TENANT_A",
        "exception_type": "SETTLEMENT_FAIL",
        "payload": {"amount": 1},
    },
}

# The change request the review endpoints name (created by `active_world`).
CHANGE_ID = "5d0c1c7e-0000-4000-8000-000000000001"

ENDPOINTS = [
    Endpoint(
        "tenant-create",
        "POST",
        "tenant-list",
        {},
        ("tenant_id", "name"),
        {"tenant_id": 5, "name": ["x"], "require_activation_approval": "yes"},
    ),
    Endpoint(
        "tenant-update",
        "PATCH",
        "tenant-detail",
        {"tenant_id": "TENANT_A"},
        (),
        {"name": 5, "require_activation_approval": "true"},
    ),
    Endpoint(
        "tenant-status",
        "PATCH",
        "tenant-status",
        {"tenant_id": "TENANT_A"},
        ("status",),
        {"status": 1, "reason": {"a": 1}},
    ),
    Endpoint(
        "domain-import",
        "POST",
        "domain-pack-import",
        {},
        ("content",),
        {"content": "text", "version": 3.2, "domain": ["x"]},
    ),
    Endpoint(
        "tenant-import",
        "POST",
        "tenant-pack-import",
        {},
        ("tenant_id", "content"),
        {"tenant_id": 1, "content": [], "version": {}, "domain_pack_version": True},
    ),
    Endpoint(
        "validate",
        "POST",
        "pack-validate",
        {},
        ("pack_type", "content"),
        {"pack_type": 1, "content": None, "tenant_id": 1},
    ),
    Endpoint(
        "domain-status",
        "PATCH",
        "domain-pack-status",
        {"domain": FINANCE, "version": "v1.0"},
        ("status",),
        {"status": None},
    ),
    Endpoint(
        "tenant-status-pack",
        "PATCH",
        "tenant-pack-status",
        {"tenant_id": "TENANT_A", "version": "v1.0"},
        ("status",),
        {"status": 2},
    ),
    Endpoint(
        "activate",
        "POST",
        "config-activate",
        {},
        ("tenant_id",),
        {
            "tenant_id": 1,
            "domain": 1,
            "domain_pack_version": 3.2,
            "tenant_pack_version": [],
            "expected_revision": "1",
            "comment": 1,
            "dry_run": "true",
        },
    ),
    Endpoint(
        "rollback",
        "POST",
        "tenant-rollback",
        {"tenant_id": "TENANT_A"},
        (),
        {"to_revision": "1", "expected_revision": True, "comment": 5, "dry_run": 1},
    ),
    *(
        Endpoint(action, "POST", f"config-change-{action}", {"id": CHANGE_ID}, (), {"comment": 5})
        for action in ("approve", "reject", "cancel")
    ),
    Endpoint(
        "link-create",
        "POST",
        "playbook-link-create",
        {},
        ("tenant_id", "playbook_id"),
        {"tenant_id": 1, "playbook_id": [], "domain": 1, "domain_pack_version": 1.0},
    ),
    Endpoint(
        "evaluate",
        "POST",
        "exceptions-evaluate",
        {},
        ("tenant_id", "exception_type"),
        {"tenant_id": 1, "exception_type": 1, "payload": []},
    ),
]
BY_NAME = {endpoint.name: endpoint for endpoint in ENDPOINTS}

# Bodies the strict intake refuses before any view code runs.
RAW_BODIES = {
    "malformed": (b'{"name": ', 400, "malformed_json"),
    "nan": (b'{"name": NaN}', 400, "invalid_number"),
    "infinity": (b'{"name": -Infinity}', 400, "invalid_number"),
    "duplicate-key": (b'{"name": "a", "name": "b"}', 400, "duplicate_key"),
    "nul-in-string": (b'{"name": "a\\u0000b"}', 400, "invalid_string"),
    "nul-in-key": (b'{"a\\u0000": 1}', 400, "invalid_string"),
    "lone-surrogate": (b'{"name": "\\ud800"}', 400, "invalid_string"),
    "not-utf8": (b'{"name": "\xff"}', 400, "invalid_encoding"),
    "deep": (b'{"name": ' + b"[" * 100 + b"]" * 100 + b"}", 400, "too_deep"),
    "very-deep": (b"[" * 100000 + b"]" * 100000, 400, "too_deep"),
    "top-level-array": (b"[1, 2]", 400, "wrong_type"),
}


@pytest.fixture
def setup(world, admin):
    return admin


def _call(admin, endpoint: Endpoint, body=None, raw=None, **extra):
    return send(admin.client, endpoint.method, endpoint.url(), body, raw=raw, **extra)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
@pytest.mark.parametrize("case", RAW_BODIES, ids=str)
def test_write__refused_body__problem_and_nothing_written(setup, endpoint, case):
    raw, status, code = RAW_BODIES[case]
    before = db_state()
    assert_problem(_call(setup, endpoint, raw=raw), status, code)
    assert db_state() == before


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_write__unknown_field__400_unknown_field(setup, endpoint):
    before = db_state()
    body = {**endpoint.valid_body(), "tenant_pack_verison": "v1"}
    problem = assert_problem(_call(setup, endpoint, body), 400, "unknown_field")
    assert problem["errors"][0]["path"] == "/tenant_pack_verison"
    assert db_state() == before


WRONG_TYPES = [
    pytest.param(endpoint, field, value, id=f"{endpoint.name}-{field}")
    for endpoint in ENDPOINTS
    for field, value in endpoint.wrong_types.items()
]


@pytest.mark.parametrize(("endpoint", "field", "value"), WRONG_TYPES)
def test_write__wrong_type__400_at_field_path(setup, endpoint, field, value):
    before = db_state()
    body = {**endpoint.valid_body(), field: value}
    problem = assert_problem_shape(_call(setup, endpoint, body), 400)
    assert problem["code"] in ("wrong_type", "invalid_choice"), problem
    assert [item["path"] for item in problem["errors"]] == [f"/{field}"]
    assert db_state() == before


MISSING = [
    pytest.param(endpoint, field, id=f"{endpoint.name}-{field}")
    for endpoint in ENDPOINTS
    for field in endpoint.required
]


@pytest.mark.parametrize(("endpoint", "field"), MISSING)
def test_write__missing_field__400_missing_required(setup, endpoint, field):
    before = db_state()
    body = {key: value for key, value in endpoint.valid_body().items() if key != field}
    problem = assert_problem(_call(setup, endpoint, body), 400, "missing_required")
    assert problem["errors"][0]["path"] == f"/{field}"
    assert db_state() == before


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_write__oversize_body__413_too_large(setup, endpoint):
    before = db_state()
    with override_settings(PACK_MAX_BYTES=2048):
        raw = b'{"name": "' + b"x" * (2048 + 256 * 1024) + b'"}'
        assert_problem(_call(setup, endpoint, raw=raw), 413, "too_large")
    assert db_state() == before


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_write__form_encoded_body__415(setup, endpoint):
    before = db_state()
    response = getattr(setup.client, endpoint.method.lower())(
        endpoint.url(), data="name=x", content_type="application/x-www-form-urlencoded"
    )
    assert_problem(response, 415, "unsupported_media_type")
    assert db_state() == before


# --- endpoint-specific refusals ---

SPECIFIC = [
    ("tenant-create", {"tenant_id": "a", "name": "x"}, 400, "invalid_tenant_id"),
    ("tenant-create", {"tenant_id": "-abc", "name": "x"}, 400, "invalid_tenant_id"),
    ("tenant-create", {"tenant_id": "../x", "name": "x"}, 400, "invalid_tenant_id"),
    ("tenant-create", {"tenant_id": "a b", "name": "x"}, 400, "invalid_tenant_id"),
    ("tenant-create", {"tenant_id": "x" * 65, "name": "x"}, 400, "invalid_tenant_id"),
    ("tenant-create", {"tenant_id": "x" * 500, "name": "x"}, 400, "invalid_tenant_id"),
    ("tenant-create", {"tenant_id": "import", "name": "x"}, 400, "invalid_tenant_id"),
    ("tenant-create", {"tenant_id": "TENANT_A", "name": "x"}, 409, "tenant_exists"),
    ("tenant-create", {"tenant_id": "tenant_a", "name": "x"}, 409, "tenant_exists"),
    ("tenant-create", {"tenant_id": "NEW_TENANT", "name": "   "}, 400, "blank"),
    ("tenant-create", {"tenant_id": "", "name": "x"}, 400, "invalid_tenant_id"),
    ("tenant-create", {"tenant_id": " ", "name": "x"}, 400, "invalid_tenant_id"),
    ("tenant-import", {"tenant_id": "", "content": {}}, 400, "invalid_tenant_id"),
    ("validate", {"pack_type": "tenant", "content": {}, "tenant_id": ""}, 400, "invalid_tenant_id"),
    ("tenant-create", {"tenant_id": "NEW_TENANT", "name": "x" * 201}, 400, "max_length"),
    ("tenant-update", {"name": ""}, 400, "blank"),
    ("tenant-status", {"status": "PAUSED"}, 400, "invalid_status"),
    ("domain-import", {"content": {}, "version": "../x"}, 400, "invalid_version"),
    ("domain-import", {"content": {}, "version": "1" * 500}, 400, "invalid_version"),
    ("domain-import", {"content": {}, "version": "v1.0+local"}, 400, "invalid_version"),
    ("domain-import", {"content": {}, "version": ""}, 400, "invalid_version"),
    (
        "domain-import",
        {"content": {"domainName": "x" * 500, "version": "v" * 100}},
        400,
        "pack_invalid",
    ),
    (
        "domain-import",
        {"content": {"domainName": "a/b"}, "version": "v1", "domain": "a/b"},
        400,
        "invalid_domain",
    ),
    (
        "tenant-import",
        {"tenant_id": "TENANT_A", "content": {"tenantId": "TENANT_A", "domainName": "x" * 500}},
        400,
        "pack_invalid",
    ),
    (
        "tenant-import",
        {"tenant_id": "TENANT_A", "content": {}, "domain_pack_version": "../x"},
        400,
        "invalid_version",
    ),
    (
        "tenant-import",
        {
            "tenant_id": "TENANT_A",
            "content": {"tenantId": "TENANT_A", "domainName": FINANCE},
            "domain_pack_version": "v8.8",
        },
        400,
        "unknown_pack_version",
    ),
    (
        "tenant-import",
        {"tenant_id": "TENANT_A", "content": {}, "version": "../x"},
        400,
        "invalid_version",
    ),
    ("tenant-import", {"tenant_id": "NOPE", "content": {}}, 404, "tenant_not_found"),
    ("tenant-import", {"tenant_id": "../x", "content": {}}, 404, "tenant_not_found"),
    ("tenant-import", {"tenant_id": "x" * 500, "content": {}}, 404, "tenant_not_found"),
    ("validate", {"pack_type": "other", "content": {}}, 400, "invalid_choice"),
    (
        "validate",
        {"pack_type": "tenant", "content": {}, "tenant_id": "NOPE"},
        404,
        "tenant_not_found",
    ),
    ("domain-status", {"status": "RETIRED"}, 400, "invalid_status"),
    ("domain-status", {"status": "DRAFT"}, 200, None),
    ("tenant-status-pack", {"status": "GONE"}, 400, "invalid_status"),
    ("tenant-status-pack", {"status": ""}, 400, "invalid_status"),
    ("domain-status", {"status": "x" * 500}, 400, "invalid_status"),
]


@pytest.mark.parametrize(
    ("name", "body", "status", "code"),
    SPECIFIC,
    ids=[f"{case[0]}-{index}" for index, case in enumerate(SPECIFIC)],
)
def test_write__invalid_value__refused_with_code(setup, name, body, status, code):
    before = db_state()
    response = _call(setup, BY_NAME[name], body)
    if status < 400:
        assert response.status_code == status
    else:
        assert_problem(response, status, code)
    assert db_state() == before


UNKNOWN_TARGETS = [
    ("tenant-update", {"tenant_id": "NOPE"}, {"name": "x"}, "tenant_not_found"),
    ("tenant-status", {"tenant_id": "NOPE"}, {"status": "ACTIVE"}, "tenant_not_found"),
    (
        "domain-status",
        {"domain": FINANCE, "version": "v7.7"},
        {"status": "ACTIVE"},
        "domain_pack_not_found",
    ),
    (
        "domain-status",
        {"domain": "Nope", "version": "v1.0"},
        {"status": "ACTIVE"},
        "domain_pack_not_found",
    ),
    (
        "tenant-status-pack",
        {"tenant_id": "TENANT_A", "version": "v7.7"},
        {"status": "ACTIVE"},
        "tenant_pack_not_found",
    ),
    (
        "tenant-status-pack",
        {"tenant_id": "NOPE", "version": "v1.0"},
        {"status": "ACTIVE"},
        "tenant_not_found",
    ),
]


@pytest.mark.parametrize(("name", "kwargs", "body", "code"), UNKNOWN_TARGETS)
def test_write__unknown_target__404(setup, name, kwargs, body, code):
    endpoint = BY_NAME[name]
    before = db_state()
    url = reverse(endpoint.url_name, kwargs=kwargs)
    assert_problem(send(setup.client, endpoint.method, url, body), 404, code)
    assert db_state() == before


def test_tenant_pack_status__invalid_transition__409(setup):
    url = reverse("tenant-pack-status", args=["TENANT_A", "v1.0"])
    assert send(setup.client, "PATCH", url, {"status": "ACTIVE"}).status_code == 200
    before = db_state()
    assert_problem(send(setup.client, "PATCH", url, {"status": "DRAFT"}), 409, "invalid_transition")
    assert db_state() == before


def test_write__x_tenant_id_of_another_tenant__403_mismatch(world, owner):
    before = db_state()
    response = send(
        owner.client,
        "PATCH",
        reverse("tenant-detail", args=["TENANT_A"]),
        {"name": "x"},
        HTTP_X_TENANT_ID="TENANT_B",
    )
    assert_problem(response, 403, "tenant_context_mismatch")
    assert db_state() == before


def test_write__session_without_csrf__403(world, admin):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(admin.user)
    before = db_state()
    response = send(client, "PATCH", reverse("tenant-detail", args=["TENANT_A"]), {"name": "x"})
    assert_problem(response, 403, "csrf_failed")
    assert db_state() == before


# --- activation, approvals, playbook links, evaluate: hostile values on a live tenant ---


@pytest.fixture
def active_world(world, admin, second_admin, finance_domain, finance_tenant):
    """TENANT_A at revision 2 on domain pack v2.0 (tenant packs v2.0 then v2.1; v2.2 DRAFT), a
    PENDING change request CHANGE_ID to v2.2 requested by second_admin, and a link of the
    POSITION_BREAK playbook. The v1.0 packs of `world` stay DRAFT."""
    setup_principal = Principal.system("setup")
    store_domain_pack(finance_domain, "v2.0")
    for version in ("v2.0", "v2.1", "v2.2"):
        store_tenant_pack("TENANT_A", finance_tenant, version)
    config_activate(
        principal=setup_principal,
        tenant_id="TENANT_A",
        domain_pack_version="v2.0",
        tenant_pack_version="v2.0",
    )
    config = config_activate(
        principal=setup_principal, tenant_id="TENANT_A", tenant_pack_version="v2.1"
    ).config
    ConfigChangeRequest.objects.create(
        id=CHANGE_ID,
        tenant_id="TENANT_A",
        domain=config.domain,
        domain_pack=config.domain_pack,
        tenant_pack=TenantPack.objects.get(tenant_id="TENANT_A", version="v2.2"),
        base_revision=config.revision,
        requested_by=second_admin.username,
    )
    link = playbook_link_create(
        principal=setup_principal, tenant_id="TENANT_A", playbook_id="POSITION_BREAK"
    )
    return {"admin": admin, "second_admin": second_admin, "link_id": link.pk}


LONG = "v" + "1" * 499
A = {"tenant_id": "TENANT_A"}
LINK = {**A, "playbook_id": "SETTLEMENT_FAIL"}
EVAL = {**A, "exception_type": "SETTLEMENT_FAIL"}

LIVE_CASES = [
    # activate: tenant references answer like a path: 404 for any id that names no tenant
    ("activate", {"tenant_id": "NOPE"}, 404, "tenant_not_found"),
    ("activate", {"tenant_id": "../x"}, 404, "tenant_not_found"),
    ("activate", {"tenant_id": "x" * 500}, 404, "tenant_not_found"),
    ("activate", {"tenant_id": ""}, 400, "invalid_tenant_id"),
    ("link-create", {**LINK, "tenant_id": ""}, 400, "invalid_tenant_id"),
    ("evaluate", {**EVAL, "tenant_id": ""}, 400, "invalid_tenant_id"),
    # versions: over 50 characters or unparseable → invalid_version (DESIGN §7), everywhere
    ("activate", {**A, "domain_pack_version": "x" * 51}, 400, "invalid_version"),
    ("activate", {**A, "domain_pack_version": "../x"}, 400, "invalid_version"),
    ("activate", {**A, "tenant_pack_version": LONG}, 400, "invalid_version"),
    ("activate", {**A, "tenant_pack_version": "v1" * 100}, 400, "invalid_version"),
    ("activate", {**A, "tenant_pack_version": ""}, 400, "invalid_version"),
    ("activate", {**A, "tenant_pack_version": " v2.2"}, 400, "invalid_version"),
    ("activate", {**A, "tenant_pack_version": "v9.9"}, 400, "unknown_pack_version"),
    ("activate", {**A, "domain_pack_version": "v9.9"}, 400, "unknown_pack_version"),
    (
        "activate",
        {**A, "domain": "Nope", "domain_pack_version": "v2.0"},
        400,
        "unknown_pack_version",
    ),
    ("activate", {**A, "domain": "x" * 500}, 400, "max_length"),
    ("activate", {**A, "expected_revision": -1}, 400, "min_value"),
    ("activate", {**A, "expected_revision": 1.5}, 400, "wrong_type"),
    (
        "activate",
        {**A, "expected_revision": 2**63 - 1, "tenant_pack_version": "v2.2"},
        409,
        "revision_conflict",
    ),
    (
        "activate",
        {**A, "expected_revision": 1, "tenant_pack_version": "v2.2"},
        409,
        "revision_conflict",
    ),
    ("activate", {**A, "comment": "x" * 2001}, 400, "max_length"),
    ("activate", {**A, "dry_run": None}, 400, "wrong_type"),
    # rollback
    ("rollback", {"to_revision": 99}, 400, "unknown_revision"),
    ("rollback", {"to_revision": 2**63 - 1}, 400, "unknown_revision"),
    ("rollback", {"to_revision": 0}, 400, "min_value"),
    ("rollback", {"expected_revision": 2**63 - 1}, 409, "revision_conflict"),
    ("rollback", {"comment": "x" * 2001}, 400, "max_length"),
    # reviews
    ("approve", {"comment": "x" * 2001}, 400, "max_length"),
    ("cancel", {"comment": None}, 400, "wrong_type"),
    # playbook links
    ("link-create", {**A, "playbook_id": "NOPE"}, 404, "playbook_not_found"),
    ("link-create", {**A, "playbook_id": "POSITION_BREAK"}, 409, "link_exists"),
    ("link-create", {**LINK, "tenant_id": "NOPE"}, 404, "tenant_not_found"),
    ("link-create", {**LINK, "tenant_id": "x" * 500}, 404, "tenant_not_found"),
    ("link-create", {**A, "playbook_id": "x" * 500}, 400, "max_length"),
    ("link-create", {**LINK, "domain_pack_version": "../x"}, 400, "invalid_version"),
    ("link-create", {**LINK, "domain_pack_version": "x" * 51}, 400, "invalid_version"),
    ("link-create", {**LINK, "domain_pack_version": "v9.9"}, 404, "domain_pack_not_found"),
    ("link-create", {**LINK, "domain": "Nope"}, 404, "playbook_not_found"),
    # evaluate
    ("evaluate", {**A, "exception_type": "NOPE"}, 400, "unknown_exception_type"),
    ("evaluate", {**A, "exception_type": "x" * 500}, 400, "max_length"),
    ("evaluate", {**EVAL, "tenant_id": "NOPE"}, 404, "tenant_not_found"),
    ("evaluate", {**EVAL, "tenant_id": "x" * 500}, 404, "tenant_not_found"),
    ("evaluate", {**EVAL, "tenant_id": "TENANT_B"}, 404, "no_active_config"),
    ("evaluate", {**EVAL, "payload": "x"}, 400, "wrong_type"),
    # tenants
    ("tenant-update", {"name": "x" * 201}, 400, "max_length"),
    ("tenant-update", {"require_activation_approval": 1}, 400, "wrong_type"),
    ("tenant-status", {"status": "ACTIVE", "reason": "x" * 1001}, 400, "max_length"),
    ("tenant-status", {"status": "active"}, 400, "invalid_status"),
    ("tenant-status", {"status": ""}, 400, "invalid_status"),
    ("tenant-status", {"status": "x" * 500}, 400, "invalid_status"),
    ("tenant-status", {"status": " ACTIVE"}, 400, "invalid_status"),
]


@pytest.mark.parametrize(
    ("name", "body", "status", "code"),
    LIVE_CASES,
    ids=[f"{case[0]}-{index}" for index, case in enumerate(LIVE_CASES)],
)
def test_live_write__invalid_value__refused_with_code(active_world, name, body, status, code):
    before = db_state()
    assert_problem(_call(active_world["admin"], BY_NAME[name], body), status, code)
    assert db_state() == before


LIVE_PATHS = [
    ("POST", "/admin/tenants/NOPE/rollback", {}, 404, "tenant_not_found"),
    ("POST", "/admin/tenants/" + "x" * 500 + "/rollback", {}, 404, "tenant_not_found"),
    ("POST", "/admin/tenants/..%2Fx/rollback", {}, 404, "not_found"),
    ("PATCH", "/admin/tenants/" + "x" * 500, {"name": "x"}, 404, "tenant_not_found"),
    ("PATCH", "/admin/tenants/%00/status", {"status": "ACTIVE"}, 404, "not_found"),
    ("POST", f"/admin/config-changes/{uuid.uuid4()}/approve", {}, 404, "change_request_not_found"),
    ("POST", f"/admin/config-changes/{uuid.uuid4()}/reject", {}, 404, "change_request_not_found"),
    ("POST", f"/admin/config-changes/{uuid.uuid4()}/cancel", {}, 404, "change_request_not_found"),
    ("POST", "/admin/config-changes/not-a-uuid/approve", {}, 404, "not_found"),
    ("POST", "/admin/config-changes/" + "1" * 500 + "/approve", {}, 404, "not_found"),
    ("DELETE", "/admin/playbooks/links/999999", None, 404, "playbook_link_not_found"),
    ("DELETE", "/admin/playbooks/links/" + "9" * 30, None, 404, "playbook_link_not_found"),
    ("DELETE", f"/admin/playbooks/links/{2**63}", None, 404, "playbook_link_not_found"),
    ("DELETE", "/admin/playbooks/links/-1", None, 404, "not_found"),
    ("DELETE", "/admin/playbooks/links/abc", None, 404, "not_found"),
    ("GET", "/admin/packs/domain/" + FINANCE + "/" + LONG, None, 400, "invalid_version"),
    ("GET", "/admin/packs/domain/" + FINANCE + "/v1..x", None, 400, "invalid_version"),
    ("GET", "/admin/packs/domain/" + FINANCE + "/..%2Fx", None, 404, "not_found"),
    (
        "PATCH",
        f"/admin/packs/domain/{FINANCE}/{LONG}/status",
        {"status": "ACTIVE"},
        400,
        "invalid_version",
    ),
    (
        "PATCH",
        f"/admin/packs/tenant/TENANT_A/{LONG}/status",
        {"status": "ACTIVE"},
        400,
        "invalid_version",
    ),
    ("GET", "/admin/packs/domain/" + FINANCE + "/v9.9", None, 404, "domain_pack_not_found"),
    ("GET", "/admin/packs/tenant/TENANT_A/" + LONG, None, 400, "invalid_version"),
    ("GET", "/admin/packs/tenant/TENANT_A/v9.9", None, 404, "tenant_pack_not_found"),
    (
        "GET",
        f"/admin/packs/domain/{FINANCE}/diff?from=v2.0&to={LONG}",
        None,
        400,
        "invalid_version",
    ),
    ("GET", f"/admin/packs/domain/{FINANCE}/diff?from=../x&to=v2.0", None, 400, "invalid_version"),
    (
        "GET",
        f"/admin/packs/domain/{FINANCE}/diff?from=v2.0&to=v9.9",
        None,
        404,
        "domain_pack_not_found",
    ),
    (
        "GET",
        "/admin/packs/tenant/TENANT_A/diff?from=v2.0&to=" + "x" * 51,
        None,
        400,
        "invalid_version",
    ),
    (
        "GET",
        "/admin/packs/tenant/TENANT_A/diff?from=v2.0&to=v9.9",
        None,
        404,
        "tenant_pack_not_found",
    ),
    ("GET", "/admin/packs/tenant/TENANT_A/diff?from=v2.0", None, 400, "missing_required"),
    ("GET", "/runtime/tenants/NOPE/config", None, 404, "tenant_not_found"),
    ("GET", "/runtime/tenants/" + "x" * 500 + "/config", None, 404, "tenant_not_found"),
    ("GET", "/runtime/tenants/TENANT_B/config", None, 404, "no_active_config"),
    ("GET", "/admin/tenants/NOPE/activations", None, 404, "tenant_not_found"),
    ("GET", "/admin/playbooks?tenant_id=NOPE", None, 404, "tenant_not_found"),
    ("GET", "/admin/playbooks?tenant_id=" + "x" * 500, None, 404, "tenant_not_found"),
    ("GET", "/admin/playbooks?domain=" + "x" * 500, None, 200, None),
    ("GET", "/admin/config-changes?status=NOPE", None, 400, "invalid_filter"),
    ("GET", "/admin/config-changes?tenant_id=" + "x" * 500, None, 400, "invalid_filter"),
    ("GET", "/admin/audit?since=yesterday", None, 400, "invalid_filter"),
    ("GET", "/admin/tenants?page=0", None, 400, "invalid_page"),
    ("GET", "/admin/tenants?page=-1", None, 400, "invalid_page"),
    ("GET", "/admin/tenants?page=abc", None, 400, "invalid_page"),
    ("GET", "/admin/tenants?page=%C2%B2", None, 400, "invalid_page"),
    ("GET", "/admin/audit?page=0", None, 400, "invalid_page"),
    ("GET", "/admin/config-changes?page=abc", None, 400, "invalid_page"),
    ("GET", "/admin/packs/domain?page=-1", None, 400, "invalid_page"),
    ("GET", "/admin/tenants/TENANT_A/activations?page=x", None, 400, "invalid_page"),
    ("GET", "/admin/tenants?page=999", None, 404, "not_found"),
    ("GET", "/admin/tenants?page=last", None, 200, None),
    ("GET", "/admin/tenants?page_size=abc", None, 200, None),
]


@pytest.mark.parametrize(
    ("method", "url", "body", "status", "code"),
    LIVE_PATHS,
    ids=[f"{case[0]}-{index}" for index, case in enumerate(LIVE_PATHS)],
)
def test_live_path__hostile__problem_with_code(active_world, method, url, body, status, code):
    before = db_state()
    response = send(active_world["admin"].client, method, url, body)
    if status < 400:
        assert response.status_code == status, response.content[:600]
    else:
        assert_problem(response, status, code)
    assert db_state() == before


# PostgreSQL refuses NUL in text: a query parameter carrying one must never reach a query.
QUERY_PARAMS = [
    ("/admin/tenants", ("status", "search", "page")),
    ("/admin/packs/domain", ("domain", "status", "search", "page")),
    ("/admin/packs/tenant/TENANT_A", ("domain", "status", "search", "page")),
    (f"/admin/packs/domain/{FINANCE}/diff?to=v2.0", ("from",)),
    ("/admin/packs/tenant/TENANT_A/diff?to=v2.0", ("from",)),
    ("/admin/tenants/TENANT_A/activations", ("page",)),
    ("/admin/config-changes", ("status", "tenant_id", "page")),
    ("/admin/playbooks", ("tenant_id", "domain", "page")),
    ("/admin/audit", ("tenant_id", "action", "actor", "object_type", "domain", "version")),
]
NUL_PARAMS = [
    pytest.param(url, name, id=f"{url}-{name}") for url, names in QUERY_PARAMS for name in names
]


@pytest.mark.parametrize(("url", "name"), NUL_PARAMS)
def test_read__nul_in_query_parameter__4xx_problem(active_world, url, name):
    separator = "&" if "?" in url else "?"
    response = active_world["admin"].client.get(f"{url}{separator}{name}=a%00b")
    assert_problem(response, 400, "invalid_filter")


@pytest.mark.parametrize("header", ["x" * 5000, "TENANT_A,TENANT_B", "../x", " "])
def test_read__odd_tenant_context_header__never_500(active_world, header):
    response = active_world["admin"].client.get("/admin/tenants", HTTP_X_TENANT_ID=header)
    assert response.status_code in (200, 400, 403), response.content[:300]


ODD_VALUES = [
    None,
    True,
    0,
    -1,
    1.5,
    2**63 - 1,
    -(2**63),
    "",
    " ",
    "x" * 5000,
    "../x",
    "NOPE",
    "TENANT_B",
    "v1.0",
    "ACTIVE",
    "é\u202e",
    [],
    ["a"],
    {},
    {"a": {"b": [1]}},
]


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_write__odd_value_in_any_field__never_500(active_world, endpoint):
    """Each field of each write endpoint gets every odd value in turn: the answer is a success
    or a problem, never a server error."""
    fields = set(endpoint.valid_body()) | set(endpoint.wrong_types)
    for field in sorted(fields):
        for value in ODD_VALUES:
            response = _call(
                active_world["admin"], endpoint, {**endpoint.valid_body(), field: value}
            )
            assert response.status_code < 500, (field, value, response.content[:300])
            if response.status_code >= 400:
                assert_problem_shape(response, response.status_code)
