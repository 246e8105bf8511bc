"""Per-principal limits on the expensive endpoints (validate, import, evaluate, impact) and
per-client and per-username limits on login (docs/operability.md): past each limit both doors
answer 429 `rate_limited` with Retry-After and write nothing; the counters are shared by
separate server processes on the same cache (the database cache, and Redis). Redelivery's limit
is tested with its endpoint (tests/webhooks/test_caps.py)."""

import time
import types
import uuid

import django_ratelimit.core as core
import pytest
from django.core.cache import cache
from django.test import Client as DjangoClient

from bench.common import Client, Gunicorn
from tests.api.conftest import assert_problem
from tests.conftest import make_actor
from tests.db_state import db_state
from tests.runtime_config.runtime_support import child_database_env

pytestmark = pytest.mark.django_db(transaction=True)
HTML = {"HTTP_ACCEPT": "text/html"}


@pytest.fixture(autouse=True)
def still_clock(monkeypatch):
    """One instant for the counters of this process: a window that ended between two calls of a
    test would reopen its bucket and let the call that should be refused through."""
    now = time.time()
    monkeypatch.setattr(core, "time", types.SimpleNamespace(time=lambda: now))


def limit(settings, scope: str, rate: str = "2/m") -> None:
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, scope: rate}


def assert_limited(response) -> None:
    body = assert_problem(response, 429, "rate_limited")
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 61 and body["retry_after"] == retry_after


CALLS = {
    # scope: (path, JSON body)
    "pack_validate": ("/admin/packs/validate", {"pack_type": "domain", "content": {}}),
    "pack_import": ("/admin/packs/domain/import", {"content": {}}),
    "evaluate": (
        "/ops/exceptions/evaluate",
        {"tenant_id": "TENANT_A", "exception_type": "X", "payload": {}},
    ),
    "impact": ("/admin/packs/activate", {"tenant_id": "TENANT_A", "dry_run": True}),
}


@pytest.mark.parametrize("scope", sorted(CALLS))
def test_expensive_endpoint__past_the_limit__429_retry_after_nothing_written(
    scope, admin, tenant_a, settings
):
    limit(settings, scope)
    path, body = CALLS[scope]
    for _ in range(2):
        assert admin.client.post(path, body, format="json").status_code != 429
    before = db_state()
    assert_limited(admin.client.post(path, body, format="json"))
    assert db_state() == before


@pytest.mark.parametrize(
    ("scope", "path", "form"),
    [
        ("pack_validate", "/admin/packs/validate", {"pack_type": "domain", "content": "{}"}),
        ("pack_import", "/admin/packs/domain/import", {"content": "{}"}),
        ("evaluate", "/ops/exceptions/evaluate", {"tenant_id": "TENANT_A"}),
        ("impact", "/admin/packs/activate", {"tenant_id": "TENANT_A", "dry_run": "true"}),
    ],
)
def test_expensive_page__past_the_limit__429_retry_after(
    scope, path, form, admin, tenant_a, settings
):
    limit(settings, scope)
    browser = DjangoClient()
    browser.force_login(admin.user)
    for _ in range(2):
        assert browser.post(path, form, **HTML).status_code != 429
    before = db_state()
    refused = browser.post(path, form, **HTML)
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 61
    assert db_state() == before


def test_limits__per_principal__another_principal_keeps_its_own(admin, second_admin, settings):
    limit(settings, "pack_validate")
    path, body = CALLS["pack_validate"]
    for _ in range(2):
        admin.client.post(path, body, format="json", REMOTE_ADDR="192.0.2.1")
    assert_limited(admin.client.post(path, body, format="json", REMOTE_ADDR="192.0.2.2"))
    other = second_admin.client.post(path, body, format="json", REMOTE_ADDR="192.0.2.3")
    assert other.status_code == 200


def test_limit_off__any_number_of_calls__never_refused(admin, settings):
    limit(settings, "pack_validate", "off")
    path, body = CALLS["pack_validate"]
    assert all(admin.client.post(path, body, format="json").status_code == 200 for _ in range(5))


def login(client: DjangoClient, username: str, address: str):
    return client.post(
        "/login", {"username": username, "password": "wrong"}, REMOTE_ADDR=address, **HTML
    )


def test_login__past_the_limit_per_client__429_retry_after(settings, db):
    limit(settings, "login")
    client = DjangoClient()
    assert [login(client, f"user{i}", "192.0.2.9").status_code for i in range(2)] == [200, 200]
    before = db_state()
    refused = login(client, "user3", "192.0.2.9")
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 61
    assert db_state() == before
    # Another client is not refused.
    assert login(client, "user4", "192.0.2.10").status_code == 200


def test_login__one_username_from_many_clients__429(settings, db):
    limit(settings, "login")
    client = DjangoClient()
    for address in ("192.0.2.21", "192.0.2.22"):
        assert login(client, "victim", address).status_code == 200
    assert login(client, "Victim", "192.0.2.23").status_code == 429


def test_login__right_password_within_the_limit__logged_in(admin, settings):
    limit(settings, "login")
    client = DjangoClient()
    response = client.post(
        "/login", {"username": admin.username, "password": "pw-" + admin.username}
    )
    assert response.status_code == 302


@pytest.fixture(params=["database", "redis"])
def shared_cache_env(request):
    env = child_database_env()
    if env is None:
        pytest.skip("the test database is in memory; set TEST_DB_NAME to share it")
    cache.clear()  # the database cache table the child processes count in
    if request.param == "redis":
        import redis

        url = "redis://127.0.0.1:6379/5"
        try:
            redis.Redis.from_url(url, socket_connect_timeout=0.5).flushdb()
        except redis.RedisError:
            pytest.skip("no Redis at 127.0.0.1:6379")
        env["CACHE_URL"] = url
    # An hour's window: the four calls of the test almost never straddle its end.
    env.update(RATE_LIMIT_EVALUATE="3/h", DEBUG="false")
    return env


def test_limit__two_server_processes__share_the_counters(shared_cache_env, tenant_a):
    reader = make_actor(f"reader-{uuid.uuid4().hex[:6]}", "VIEWER", tenant_a)
    path, body = CALLS["evaluate"]
    with (
        Gunicorn(shared_cache_env, workers=1) as first,
        Gunicorn(shared_cache_env, workers=1) as second,
    ):
        statuses = [
            Client(server.base, reader.token).post(path, body).status
            for server in (first, second, first)
        ]
        assert 429 not in statuses, statuses
        refused = Client(second.base, reader.token).post(path, body)
    assert refused.status == 429
    assert refused.json()["code"] == "rate_limited" and int(refused.headers["retry-after"]) >= 1
