"""Content-level fuzz (issue 13, "how to keep it true"): generated pack documents, valid and
mutated (deep, long, wide, numeric edge cases, unicode, NUL, lone surrogates, near-duplicate
names, long and deep CEL), through intake -> validate -> import -> activate -> runtime ->
evaluate over HTTP, on whichever database the suite runs on. Asserted: no 5xx, an error code
on every refusal, checksums stable from the report to the row to the runtime, and a bounded
time per KB.

In the test suite the run is small and derandomized (CONTENT_FUZZ_EXAMPLES, default 25);
`make fuzz` runs it longer with a random seed (CONTENT_FUZZ_SEED)."""

import itertools
import json
import os
import time

import pytest
from hypothesis import HealthCheck, event, given, seed, settings
from hypothesis import strategies as st

from packs.canonical import checksum
from packs.models import DomainPack
from tests.conftest import load_reference

EXAMPLES = int(os.environ.get("CONTENT_FUZZ_EXAMPLES", "25"))
SEED = os.environ.get("CONTENT_FUZZ_SEED")
DOMAIN = "CapitalMarketsTrading"
# Generous: the fixed cost of a request plus 2 ms per KB (validation runs at ~0.2 ms per KB).
BASE_SECONDS, SECONDS_PER_KB = 1.5, 0.002

_versions = itertools.count(1)

numbers = st.sampled_from(
    [0, -0.0, 1.0, 0.1, 1e16, 1.2345678901234568e18, 9.2e18, 5e-324, 2**53 + 1, 2**63 - 1,
     -(2**63), 1.5e-7, 123456789.0]
) | st.integers(-(2**63), 2**63 - 1) | st.floats(-1e18, 1e18, allow_nan=False)  # fmt: skip
texts = st.text(max_size=40) | st.sampled_from(
    ["é漢字🙂", "\u202eRTL", "a\x00b", "\ud800", "x" * 5_000, "<script>", "' OR 1=1", ""]
)
leaves = st.none() | st.booleans() | numbers | texts
values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(texts, inner, max_size=5),
    max_leaves=20,
)


def _long_name(index: int) -> str:
    return "t" * 90 + f"{index:06d}" + "t" * 90


conditions = st.sampled_from(
    [
        "exceptionType == 'POSITION_BREAK'",
        "rawPayload.amount > 1000 && exceptionType == 'CASH_BREAK'",
        "rawPayload.items.exists(i, i.qty > 5)",
        "rawPayload" + ".a" * 3_000,
        "1" + " + 1" * 1_000,
        "a" + "[0]" * 1_000,
        "(" * 300 + "1" + ")" * 300,
        "rawPayload.l.all(x, rawPayload.l.all(y, true))",
        "size(rawPayload.l.map(x, x)) > 0",
        "rawPayload.s.matches('(.{1000}){1000}')",
        "exceptionType == ",
    ]
) | st.text(max_size=30)


def _dig(content: dict, *path):
    """content[path...] when every step exists with the right shape, else None (an earlier
    mutation replaced it)."""
    node = content
    for step in path:
        if isinstance(step, int):
            if not isinstance(node, list) or len(node) <= step:
                return None
        elif not isinstance(node, dict) or step not in node:
            return None
        node = node[step]
    return node


@st.composite
def mutation(draw, content: dict) -> None:
    kind = draw(
        st.sampled_from(
            ["value", "deep", "wide", "names", "condition", "drop", "unknown_key", "payload"]
        )
    )
    position_break = _dig(content, "exceptionTypes", "POSITION_BREAK")
    rules = _dig(content, "severityRules")
    case_input = _dig(content, "testSuites", 0, "input")
    if kind == "value" and content:
        content[draw(st.sampled_from(sorted(content)))] = draw(values)
    elif kind == "deep" and isinstance(position_break, dict):
        node: object = 1
        for _ in range(draw(st.sampled_from([10, 60, 63, 64, 65, 200]))):
            node = [node]
        position_break["detectionRules"] = node
    elif kind == "wide" and isinstance(position_break, dict):
        position_break["detectionRules"] = [draw(leaves)] * draw(st.integers(100, 20_000))
    elif kind == "names":
        count = draw(st.integers(1, 150))
        content["tools"] = {_long_name(i): {"description": "d"} for i in range(count)}
        content["guardrails"] = {
            "allowLists": [_long_name(i).replace("t", "u", 1) for i in range(count)]
        }
    elif kind == "condition" and isinstance(rules, list) and rules:
        rule = rules[draw(st.integers(0, len(rules) - 1))]
        if isinstance(rule, dict):
            rule["condition"] = draw(conditions)
    elif kind == "drop" and content:
        content.pop(draw(st.sampled_from(sorted(content))))
    elif kind == "unknown_key":
        content[draw(st.sampled_from(["severty", "toolsAllowList", "x" * 300, ""]))] = 1
    elif kind == "payload" and isinstance(case_input, dict):
        case_input["rawPayload"] = draw(values)


@st.composite
def documents(draw) -> dict:
    content = load_reference("domain_capital_markets.json")
    for _ in range(draw(st.integers(0, 3))):
        draw(mutation(content))
    return content


def _settings(test):
    test = settings(
        max_examples=EXAMPLES,
        derandomize=SEED is None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )(test)
    return seed(int(SEED))(test) if SEED else test


def _timed_post(client, path: str, body: bytes):
    started = time.perf_counter()
    response = client.post(path, body, content_type="application/json")
    return response, time.perf_counter() - started


def _body(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


@pytest.fixture
def world(admin, viewer, tenant_a, settings):
    # Hundreds of examples run in one test, so in one rate-limit namespace (tests/conftest.py):
    # what is fuzzed here is the content, not the limits (tests/operability/test_rate_limits.py).
    settings.RATE_LIMITS = {scope: "off" for scope in settings.RATE_LIMITS}
    tenant = {**load_reference("tenant_finance_001.json"), "tenantId": "TENANT_A"}
    return admin, viewer, tenant


@_settings
@given(content=documents(), payload=st.dictionaries(texts, values, max_size=5) | values)
def test_content_fuzz__generated_packs__no_5xx_stable_checksums_bounded_time(
    world, content, payload
):
    admin, viewer, tenant = world
    body = _body({"pack_type": "domain", "content": content})
    response, seconds = _timed_post(viewer.client, "/admin/packs/validate", body)
    assert response.status_code in (200, 400, 413), response.content[:500]
    assert seconds <= BASE_SECONDS + SECONDS_PER_KB * len(body) / 1024, seconds
    if response.status_code != 200:
        event(f"validate refused: {response.json()['code']}")
        return
    report = response.json()
    event(f"validate: {'valid' if report['valid'] else 'invalid'}")

    version = f"v7.{next(_versions)}"
    response, seconds = _timed_post(
        admin.client, "/admin/packs/domain/import", _body({"content": content, "version": version})
    )
    assert response.status_code in (201, 400, 409), response.content[:500]
    assert seconds <= BASE_SECONDS + SECONDS_PER_KB * len(body) / 1024, seconds
    if response.status_code != 201:
        assert response.status_code == 409 or (response.json()["code"] and not report["valid"])
        return
    stored = DomainPack.objects.get(domain=content.get("domainName"), version=version)
    assert stored.checksum == report["checksum"] == checksum(stored.content_json)
    if content.get("domainName") != DOMAIN:
        return

    tenant_version = f"v1.{next(_versions)}"
    imported = admin.client.post(
        "/admin/packs/tenant/import",
        _body({"tenant_id": "TENANT_A", "content": tenant, "version": tenant_version}),
        content_type="application/json",
    )
    assert imported.status_code in (201, 400), imported.content[:500]
    activate = {
        "tenant_id": "TENANT_A",
        "domain": DOMAIN,
        "domain_pack_version": version,
        **({"tenant_pack_version": tenant_version} if imported.status_code == 201 else {}),
    }
    response = admin.client.post("/admin/packs/activate", activate, format="json")
    assert response.status_code in (200, 409), response.content[:500]
    if response.status_code != 200:
        event(f"activation refused: {response.json()['code']}")
        return
    event("activated")
    config = admin.client.get("/runtime/tenants/TENANT_A/config")
    assert config.status_code == 200, config.content[:500]
    assert config.json()["domain_pack"]["checksum"] == stored.checksum
    evaluation = admin.client.post(
        "/ops/exceptions/evaluate",
        _body({"tenant_id": "TENANT_A", "exception_type": "POSITION_BREAK", "payload": payload}),
        content_type="application/json",
    )
    assert evaluation.status_code in (200, 400), evaluation.content[:500]
    event(f"evaluate: {evaluation.status_code}")
