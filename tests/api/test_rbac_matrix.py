"""Who may call what (DESIGN §4), generated from ONE table so no endpoint is forgotten.

Each row: an endpoint (by URL name), how to call it for tenant {t}, and the expected status for
each actor. Columns:
  anon     no credentials                       nobody   authenticated, no role
  viewer   platform VIEWER                      admin    platform ADMIN
  own      ADMIN of TENANT_A acting on TENANT_A other     ADMIN of TENANT_A acting on TENANT_B
Platform actors act on TENANT_A. Rows for endpoints that name no tenant use the same request for
`own` and `other`. To add an endpoint, append a Row; `test_every_owned_url_name_is_in_table`
fails while one of the listed URL names has no row.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.urls import reverse

from tests.api.conftest import FINANCE, PROBLEM, send, tenant_content
from tests.conftest import load_reference

ACTORS = ("anon", "nobody", "viewer", "admin", "own", "other")


def _statuses(anon, nobody, viewer, admin, own, other) -> dict[str, int]:
    return dict(zip(ACTORS, (anon, nobody, viewer, admin, own, other), strict=True))


READ_SHARED = _statuses(401, 403, 200, 200, 200, 200)  # everyone with a role
READ_TENANT = _statuses(401, 403, 200, 200, 200, 404)  # tenant isolation: 404, never 403
WRITE_TENANT = _statuses(401, 403, 403, 200, 200, 404)
WRITE_PLATFORM = _statuses(401, 403, 403, 200, 403, 403)  # platform ADMIN only


@dataclass(frozen=True)
class Row:
    url_name: str
    method: str
    # (tenant id) -> (url kwargs, query string)
    url: Callable[[str], tuple[dict[str, str], str]]
    expected: dict[str, int]
    body: Callable[[str], Any] | None = None
    label: str = ""
    kwargs: dict = field(default_factory=dict)


def _none(t):
    return {}, ""


def _tenant(t):
    return {"tenant_id": t}, ""


def _domain_version(t):
    return {"domain": FINANCE, "version": "v1.0"}, ""


def _tenant_version(t):
    return {"tenant_id": t, "version": "v1.0"}, ""


def _domain_pack_body(t):
    return {"content": load_reference("domain_capital_markets.json"), "version": "v9.0"}


def _tenant_pack_body(t):
    content = tenant_content(load_reference("tenant_finance_001.json"), t)
    return {"tenant_id": t, "content": content, "version": "v9.0"}


TABLE: list[Row] = [
    Row("tenant-list", "GET", _none, READ_SHARED),
    Row(
        "tenant-list",
        "POST",
        _none,
        {**WRITE_PLATFORM, "admin": 201},
        body=lambda t: {"tenant_id": "NEW_TENANT", "name": "New"},
    ),
    Row("tenant-detail", "GET", _tenant, READ_TENANT),
    Row("tenant-detail", "PATCH", _tenant, WRITE_TENANT, body=lambda t: {"name": "Renamed"}),
    Row("tenant-status", "PATCH", _tenant, WRITE_TENANT, body=lambda t: {"status": "SUSPENDED"}),
    Row(
        "domain-pack-import",
        "POST",
        _none,
        {**WRITE_PLATFORM, "admin": 201},
        body=_domain_pack_body,
    ),
    Row(
        "tenant-pack-import",
        "POST",
        _none,
        {**WRITE_TENANT, "admin": 201, "own": 201},
        body=_tenant_pack_body,
    ),
    Row(
        "pack-validate",
        "POST",
        _none,
        READ_SHARED,
        body=lambda t: {"pack_type": "domain", "content": {"domainName": FINANCE}},
    ),
    Row(
        "pack-validate",
        "POST",
        _none,
        READ_TENANT,
        body=lambda t: {
            "pack_type": "tenant",
            "tenant_id": t,
            "content": tenant_content(load_reference("tenant_finance_001.json"), t),
        },
        label="tenant",
    ),
    Row("domain-pack-list", "GET", _none, READ_SHARED),
    Row("domain-pack-detail", "GET", _domain_version, READ_SHARED),
    Row(
        "domain-pack-status",
        "PATCH",
        _domain_version,
        WRITE_PLATFORM,
        body=lambda t: {"status": "ACTIVE"},
    ),
    Row(
        "domain-pack-diff",
        "GET",
        lambda t: ({"domain": FINANCE}, "?from=v1.0&to=v1.0"),
        READ_SHARED,
    ),
    Row("tenant-pack-list", "GET", _tenant, READ_TENANT),
    Row("tenant-pack-detail", "GET", _tenant_version, READ_TENANT),
    Row(
        "tenant-pack-status",
        "PATCH",
        _tenant_version,
        WRITE_TENANT,
        body=lambda t: {"status": "ACTIVE"},
    ),
    Row("tenant-pack-diff", "GET", lambda t: (_tenant(t)[0], "?from=v1.0&to=v1.0"), READ_TENANT),
    Row("pack-schema", "GET", lambda t: ({"pack_type": "domain"}, ""), READ_SHARED),
    Row("pack-schema", "GET", lambda t: ({"pack_type": "tenant"}, ""), READ_SHARED, label="t"),
]

# URL names this table must cover (other engineers: add yours here with your rows).
OWNED_URL_NAMES = {
    "tenant-list",
    "tenant-detail",
    "tenant-status",
    "domain-pack-import",
    "tenant-pack-import",
    "pack-validate",
    "domain-pack-list",
    "domain-pack-detail",
    "domain-pack-status",
    "domain-pack-diff",
    "tenant-pack-list",
    "tenant-pack-detail",
    "tenant-pack-status",
    "tenant-pack-diff",
    "pack-schema",
}

CELLS = [
    pytest.param(
        row, actor, id=f"{row.method}-{row.url_name}{'-' + row.label if row.label else ''}-{actor}"
    )
    for row in TABLE
    for actor in ACTORS
]


def test_every_owned_url_name_is_in_table():
    assert {row.url_name for row in TABLE} >= OWNED_URL_NAMES


@pytest.fixture
def clients(world, anon, nobody, viewer, admin, owner) -> dict[str, Any]:
    return {
        "anon": anon,
        "nobody": nobody.client,
        "viewer": viewer.client,
        "admin": admin.client,
        "own": owner.client,
        "other": owner.client,
    }


@pytest.mark.parametrize(("row", "actor"), CELLS)
def test_rbac_matrix(clients, row: Row, actor: str):
    tenant_id = "TENANT_B" if actor == "other" else "TENANT_A"
    kwargs, query = row.url(tenant_id)
    url = reverse(row.url_name, kwargs=kwargs) + query
    body = row.body(tenant_id) if row.body else None
    response = send(clients[actor], row.method, url, body)
    expected = row.expected[actor]
    assert response.status_code == expected, (actor, url, response.content[:600])
    if expected >= 400:
        assert response["Content-Type"].startswith(PROBLEM)
