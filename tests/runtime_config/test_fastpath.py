"""The lean route of GET /runtime/tenants/{id}/config (runtime_config.fastpath) answers exactly like
the full stack (status, problem body, every header but the request id), and a cache hit with a
known token costs no database query."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from identity.models import ApiToken
from identity.tokens import digest_of
from runtime_config import cache as runtime_cache
from runtime_config.runtime import invalidate
from tenants.services import tenant_set_status
from tests.conftest import make_actor
from tests.runtime_config.runtime_support import (
    FINANCE,
    SETUP,
    activate_direct,
    make_finance_tenant,
    store_domain,
    store_tenant,
)

URL = f"/runtime/tenants/{FINANCE}/config"


@pytest.fixture(autouse=True)
def fresh_cache():
    invalidate()
    yield
    invalidate()


@pytest.fixture
def finance(db, finance_domain, finance_tenant):
    tenant = make_finance_tenant()
    activate_direct(FINANCE, store_domain(finance_domain), store_tenant(finance_tenant))
    return tenant


def both_routes(settings, client_call):
    """(lean answer, full-stack answer) of the same request."""
    settings.RUNTIME_FAST_PATH = True
    lean = client_call()
    invalidate()
    settings.RUNTIME_FAST_PATH = False
    full = client_call()
    return lean, full


def assert_same(lean, full):
    assert lean.status_code == full.status_code
    lean_headers = {k.lower(): v for k, v in lean.items() if k.lower() != "x-request-id"}
    full_headers = {k.lower(): v for k, v in full.items() if k.lower() != "x-request-id"}
    assert lean_headers == full_headers
    assert lean["X-Request-ID"] and full["X-Request-ID"]
    if lean.status_code != 304:
        assert lean.json() == full.json()


def test_lean_route__every_outcome__same_status_headers_and_body(finance, viewer, settings, client):
    member_b = make_actor("member-b", "VIEWER", None)
    member_b.user.role_bindings.all().delete()
    cases = {
        "ok": lambda: viewer.client.get(URL),
        "min_revision": lambda: viewer.client.get(URL + "?min_revision=1"),
        "min_revision_ahead": lambda: viewer.client.get(URL + "?min_revision=7"),
        "min_revision_huge": lambda: viewer.client.get(URL + "?min_revision=9999999999"),
        "unknown_tenant": lambda: viewer.client.get("/runtime/tenants/NOPE_1/config"),
        "bad_token": lambda: client.get(URL, HTTP_AUTHORIZATION="Token nope"),
        "no_role": lambda: member_b.client.get(URL),
        "accept_json": lambda: viewer.client.get(URL, HTTP_ACCEPT="application/json"),
    }
    for name, call in cases.items():
        lean, full = both_routes(settings, call)
        assert_same(lean, full), name
    etag = viewer.client.get(URL)["ETag"]
    lean, full = both_routes(settings, lambda: viewer.client.get(URL, HTTP_IF_NONE_MATCH=etag))
    assert lean.status_code == 304
    assert_same(lean, full)
    tenant_set_status(principal=SETUP, tenant_id=FINANCE, status="SUSPENDED")
    lean, full = both_routes(settings, lambda: viewer.client.get(URL))
    assert lean.status_code == 409
    assert_same(lean, full)


def test_lean_route__security_headers__present(finance, viewer):
    response = viewer.client.get(URL, HTTP_X_REQUEST_ID="req-123")
    assert response.status_code == 200
    assert response["X-Request-ID"] == "req-123"
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


def test_lean_route__disallowed_host__400(finance, viewer):
    response = viewer.client.get(URL, HTTP_HOST="evil.example")
    assert response.status_code == 400


def test_lean_route__bad_min_revision__400_and_code(finance, viewer):
    for raw in ("-1", "abc", "", "1.5", "1" * 5000, "2147483648"):
        response = viewer.client.get(URL, {"min_revision": raw})
        assert response.status_code == 400, raw
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "invalid_min_revision", raw


def test_cache_hit__known_token__no_database_query(finance, viewer, settings):
    settings.RUNTIME_CONFIG_TTL = 30
    settings.RUNTIME_CONFIG_CHECK_INTERVAL = 30
    assert viewer.client.get(URL).status_code == 200  # loads the config and the principal
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert viewer.client.get(URL).status_code == 200
    assert [q["sql"] for q in queries.captured_queries] == []


def test_cached_principal__token_deleted__refused_at_once(finance, viewer, settings):
    settings.RUNTIME_CONFIG_TTL = 30
    settings.RUNTIME_CONFIG_CHECK_INTERVAL = 30
    assert viewer.client.get(URL).status_code == 200
    assert runtime_cache.principal_lookup(viewer.token) is not None
    # The change's own process drops its cache on commit (other processes: by push).
    runtime_cache.bump_generation("!auth")
    ApiToken.objects.filter(digest=digest_of(viewer.token)).delete()
    assert viewer.client.get(URL).status_code == 401


@pytest.mark.parametrize("key", ["a\x00b", "a" * 5000, "é" * 40, "abc;drop", "-" * 40])
def test_odd_token__either_route__401_nothing_cached(finance, client, settings, key):
    settings.RUNTIME_CONFIG_TTL = 30
    for fast in (True, False):
        settings.RUNTIME_FAST_PATH = fast
        response = client.get(URL, HTTP_AUTHORIZATION=f"Token {key}")
        assert response.status_code == 401
        assert response.json()["code"] == "authentication_failed"
    assert not runtime_cache._principals


@pytest.mark.parametrize("segment", ["A%00B", "%F0%9F%98%80", "A" * 65, "ab%2Fc"])
def test_odd_tenant_segment__404_problem_no_500(finance, viewer, segment):
    response = viewer.client.get(f"/runtime/tenants/{segment}/config")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
