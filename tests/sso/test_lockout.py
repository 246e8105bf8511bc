"""Login protection (issue 21): past the login limit a sign-in is locked for its window, with a
clear page, one `login.locked` audit row and webhook event per window and bucket — never one per
refused attempt."""

import pytest
from django.test import Client as DjangoClient

from audit.models import AuditEvent
from tests.conftest import make_actor
from tests.db_state import db_state
from webhooks.models import WebhookEvent

HTML = {"HTTP_ACCEPT": "text/html"}


@pytest.fixture
def tight_login(settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login": "2/m"}


def _attempt(client, username: str, address: str = "198.51.100.7", **headers):
    return client.post(
        "/login", {"username": username, "password": "wrong"}, REMOTE_ADDR=address, **headers
    )


def test_login__past_the_limit__locked_page_429_retry_after(tight_login, db):
    client = DjangoClient()
    assert [_attempt(client, "mallory", **HTML).status_code for _ in range(2)] == [200, 200]
    locked = _attempt(client, "mallory", **HTML)
    assert locked.status_code == 429
    assert 1 <= int(locked["Retry-After"]) <= 61
    text = locked.content.decode()
    assert 'id="login-locked"' in text and "Sign-in locked." in text
    assert f"try again in {locked['Retry-After']} seconds" in text


def test_login__locked_repeatedly__one_audit_row_and_one_event(tight_login, db):
    from tests.webhooks.conftest import subscribe

    subscribe("https://hooks.example.com/in")
    make_actor("mallory", "VIEWER")
    client = DjangoClient()
    for _ in range(2):
        _attempt(client, "mallory", **HTML)
    assert _attempt(client, "mallory", **HTML).status_code == 429
    rows = AuditEvent.objects.filter(action="login.locked")
    assert list(rows.values_list("actor", "object_id")) == [("mallory", "mallory")]
    assert rows.get().details["client"] == "198.51.100.7"
    assert WebhookEvent.objects.filter(type="login.locked").count() == 1
    before = db_state()
    for _ in range(3):
        assert _attempt(client, "mallory", **HTML).status_code == 429
    assert db_state() == before


def test_login__locked_with_a_non_user_name__the_text_typed_is_not_recorded(tight_login, db):
    client = DjangoClient()
    for _ in range(3):
        _attempt(client, "hunter2-my-password", **HTML)
    row = AuditEvent.objects.get(action="login.locked")
    assert row.actor == row.object_id == "(unknown username)"
    assert "hunter2" not in str(row.details)
