"""Helpers for HTTP tests of the API: raw bodies, problem assertions, row counts, a small world
of tenants and packs stored without validation (fast, and independent of the validator)."""

import json
from typing import Any

import pytest

from packs.models import DomainPack, TenantPack
from packs.services import domain_pack_create, tenant_pack_create
from tenants.principals import Principal

PROBLEM = "application/problem+json"
FINANCE = "CapitalMarketsTrading"


def send(client, method: str, url: str, body: Any = None, *, raw: bytes | None = None, **extra):
    """One request with a JSON body (or raw bytes sent as application/json)."""
    data = raw if raw is not None else (None if body is None else json.dumps(body))
    call = getattr(client, method.lower())
    if data is None:
        return call(url, **extra)
    return call(url, data=data, content_type="application/json", **extra)


def assert_problem(response, status: int, code: str) -> dict:
    """A problem+json answer with this status and this stable code (a bad-input test that does
    not name the code would pass on the wrong refusal)."""
    body = assert_problem_shape(response, status)
    assert body["code"] == code, body
    return body


def assert_problem_shape(response, status: int) -> dict:
    """Only for sweeps that cannot know the code of each case (odd values in every field):
    whatever the refusal, it is a well-formed problem."""
    assert response.status_code == status, (response.status_code, response.content[:2000])
    assert response["Content-Type"] == PROBLEM, response["Content-Type"]
    body = response.json()
    assert body["status"] == status
    assert body["type"] == f"/errors/{body['code']}"
    assert {"title", "detail", "errors"} <= set(body)
    return body


def tenant_content(base: dict, tenant_id: str) -> dict:
    return {**base, "tenantId": tenant_id}


def store_domain_pack(content: dict, version: str = "v1.0") -> DomainPack:
    return domain_pack_create(
        principal=Principal.system("setup"),
        domain=content["domainName"],
        version=version,
        content=content,
    )


def store_tenant_pack(tenant_id: str, content: dict, version: str = "v1.0") -> TenantPack:
    return tenant_pack_create(
        principal=Principal.system("setup"),
        tenant_id=tenant_id,
        version=version,
        content=tenant_content(content, tenant_id),
    )


@pytest.fixture
def world(tenant_a, tenant_b, finance_domain, finance_tenant):
    """Tenants A and B, the finance domain pack v1.0 and a tenant pack v1.0 for each tenant."""
    store_domain_pack(finance_domain)
    store_tenant_pack("TENANT_A", finance_tenant)
    store_tenant_pack("TENANT_B", finance_tenant)
    return {"domain": FINANCE}
