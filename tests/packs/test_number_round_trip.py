"""Checksums survive the database (issue 13 item 3): PostgreSQL's jsonb stores a number as the
decimal of the text it was sent and prints it without an exponent, SQLite keeps the text; a
pack read back from either must hash to its stored checksum."""

import itertools
import json
import math

import pytest
from django.core.management import call_command
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from packs.canonical import canonical_json, checksum
from packs.models import DomainPack
from packs.services import domain_pack_create
from tenants.principals import Principal
from tests.conftest import load_reference

EDGE_FLOATS = [
    1.2345678901234568e18,  # the number: binary value ...768, jsonb gives ...800
    9.2e18,
    2.0**53,
    2.0**53 + 2,
    2.0**62 + 2.0**40,
    1e16,
    1e17,
    -1e18,
    5e-324,
    -0.0,
    0.0,
    1.0,
    0.1,
    1.5e-7,
    123456789.0,
    9.223372036854775e18,
]
EDGE_INTS = [0, -1, 2**53 - 1, 2**53, 2**53 + 1, 2**63 - 1, -(2**63), 10**18]
numbers = st.one_of(
    st.sampled_from(EDGE_FLOATS),
    st.sampled_from(EDGE_INTS),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(
        min_value=-(2.0**63), max_value=2.0**63, exclude_min=True, exclude_max=True,
        allow_nan=False, allow_infinity=False,
    ),
    st.floats(min_value=2.0**53, max_value=2.0**63, exclude_max=True).map(math.floor),
    st.floats(min_value=2.0**53, max_value=2.0**63, exclude_max=True),
)  # fmt: skip
# Keys without NUL: PostgreSQL's jsonb cannot hold U+0000, and every door refuses it before a
# pack reaches the store (tests/test_intake.py); this test is about numbers.
keys = st.text(alphabet=st.characters(blacklist_characters="\x00"), max_size=4)
payloads = st.recursive(
    numbers,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner),
    max_leaves=12,
)
_versions = itertools.count()


def _pack(payload) -> dict:
    content = load_reference("domain_capital_markets.json")
    content["testSuites"] = [
        {
            "input": {"exceptionType": "POSITION_BREAK", "rawPayload": {"v": payload}},
            "expectedOutput": {"severity": "CRITICAL"},
        }
    ]
    content["guardrails"]["humanApprovalThreshold"] = 0.7
    return content


def _store(content: dict) -> DomainPack:
    pack = domain_pack_create(
        principal=Principal.system("test"),
        domain="CapitalMarketsTrading",
        version=f"v9.{next(_versions)}",
        content=content,
    )
    return DomainPack.objects.get(pk=pack.pk)  # read back from the table


@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payloads)
@pytest.mark.django_db
def test_checksum__generated_numbers__survives_a_round_trip_through_the_table(payload):
    stored = _store(_pack(payload))
    assert checksum(stored.content_json) == stored.checksum


@pytest.mark.postgres
@settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payloads)
@pytest.mark.django_db
def test_checksum__generated_numbers__survives_jsonb_read_as_text(payload):
    """Any reader of the column, not only Django's: jsonb's own text, parsed as JSON."""
    stored = _store(_pack(payload))
    with connection.cursor() as cursor:
        cursor.execute("SELECT content_json::text FROM domain_packs WHERE id = %s", [stored.pk])
        text = cursor.fetchone()[0]
    assert checksum(json.loads(text)) == stored.checksum


def test_canonical_json__integral_float__the_integer_its_repr_denotes():
    assert canonical_json({"n": 1.2345678901234568e18}) == b'{"n":1234567890123456800}'
    assert canonical_json({"n": 1234567890123456800}) == b'{"n":1234567890123456800}'
    assert canonical_json([1e16, -0.0, 1.0, 0.1, 5e-324]) == b"[10000000000000000,0,1,0.1,5e-324]"


@pytest.mark.django_db
def test_tenant_pack__data_ttl_near_2_63__imports_activates_and_runtime_serves(admin, tenant_a):
    """The issue's case end to end: 201, 200, then the runtime and verify_packs agree (on
    PostgreSQL the runtime answered 503 config_integrity_failure)."""
    domain = load_reference("domain_capital_markets.json")
    tenant = {**load_reference("tenant_finance_001.json"), "tenantId": "TENANT_A"}
    tenant["retentionPolicies"] = {"dataTTL": 1.2345678901234568e18}
    body = json.dumps({"content": tenant, "tenant_id": "TENANT_A", "version": "v1.0"})
    assert (
        admin.client.post(
            "/admin/packs/domain/import", {"content": domain, "version": "v3.2"}, format="json"
        ).status_code
        == 201
    )
    response = admin.client.post(
        "/admin/packs/tenant/import", body, content_type="application/json"
    )
    assert response.status_code == 201, response.json()
    response = admin.client.post(
        "/admin/packs/activate",
        {
            "tenant_id": "TENANT_A",
            "domain": "CapitalMarketsTrading",
            "domain_pack_version": "v3.2",
            "tenant_pack_version": "v1.0",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    config = admin.client.get("/runtime/tenants/TENANT_A/config")
    assert config.status_code == 200, config.content[:300]
    call_command("verify_packs")  # raises CommandError (exit 1) on a mismatch
