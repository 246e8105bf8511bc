"""Issue 25, #2: a receiver's token in a webhook URL reached VIEWERs through the audit trail and
its CSV. Now no credential reaches the audit trail (API, CSV, page), a webhook payload, an
attempt's error or a log line, whoever reads them (onboarding.redaction)."""

import csv
import io
import json
import logging

import pytest

from tests.api.conftest import send
from tests.ui.conftest import HTML, browser
from tests.webhooks.conftest import SETUP, deliver, subscribe
from webhooks.models import WebhookAttempt, WebhookDelivery

SECRET = "s3cr3t-receiver-token-42"
OTHER = "0th3r-receiver-token-77"


@pytest.fixture
def token_hooks(owner):
    """A tenant webhook created and changed through the API, each time with a token URL."""
    created = send(
        owner.client,
        "POST",
        "/admin/webhooks",
        {
            "url": f"https://hooks.example.com/in?token={SECRET}&v=2",
            "events": ["config.activated"],
            "tenant_id": "TENANT_A",
        },
    )
    assert created.status_code == 201
    hook_id = created.json()["id"]
    changed = send(
        owner.client,
        "PATCH",
        f"/admin/webhooks/{hook_id}",
        {"url": f"https://hooks.example.com/v2?key={OTHER}"},
    )
    assert changed.status_code == 200
    return hook_id


def _no_secret(text: str) -> None:
    assert SECRET not in text and OTHER not in text, text[:2000]


@pytest.mark.django_db
@pytest.mark.parametrize("reader", ["viewer", "member", "admin"])
def test_audit_api_and_csv__webhook_url_with_a_token__no_role_reads_the_token(
    token_hooks, reader, request
):
    actor = request.getfixturevalue(reader)
    listing = send(actor.client, "GET", "/admin/audit?object_type=webhook")
    assert listing.status_code == 200
    rows = listing.json()["results"]
    assert {row["action"] for row in rows} == {"webhook.created", "webhook.updated"}
    _no_secret(listing.content.decode())
    created = next(row for row in rows if row["action"] == "webhook.created")
    assert created["details"]["after"]["url"] == "https://hooks.example.com/in?token=***&v=***"
    updated = next(row for row in rows if row["action"] == "webhook.updated")
    assert updated["details"]["before"]["url"] == created["details"]["after"]["url"]
    assert updated["details"]["after"]["url"] == "https://hooks.example.com/v2?key=***"

    exported = send(actor.client, "GET", "/admin/audit?format=csv&object_type=webhook")
    text = b"".join(exported.streaming_content).decode()
    _no_secret(text)
    assert "token=***" in text and len(list(csv.reader(io.StringIO(text)))) == 3


@pytest.mark.django_db
def test_audit_page__viewer__no_token(token_hooks, viewer):
    page = browser(viewer).get("/admin/audit?object_type=webhook", **HTML)
    assert page.status_code == 200
    _no_secret(page.content.decode())


@pytest.mark.django_db
def test_audit_chain__redacted_rows__still_verify(token_hooks):
    from django.core.management import call_command

    call_command("verify_audit", stdout=io.StringIO())  # exits 1 (SystemExit) on a break


@pytest.mark.django_db(transaction=True)
def test_webhook_body__details_with_a_credential__redacted_before_sending(receiver, fast_retries):
    from tenants.services import tenant_create, tenant_set_status

    created = subscribe(receiver.url)
    # A tenant name is free text: here it carries a URL with a token.
    tenant_create(
        principal=SETUP, tenant_id="T1", name=f"Ops https://ops.example.com/?api_key={SECRET}"
    )
    tenant_set_status(principal=SETUP, tenant_id="T1", status="SUSPENDED")
    deliver(lambda: len(receiver.requests) == 1)
    (body,) = receiver.verified(created.secret)  # signed over the redacted bytes
    _no_secret(json.dumps(body))
    assert body["data"]["details"]["after"]["name"] == "Ops https://ops.example.com/?api_key=***"


@pytest.mark.django_db(transaction=True)
def test_log_line__failed_attempt_to_a_token_url__redacted_by_the_console_handler(
    fast_retries, allow_private, settings
):
    """The worker logs a failed attempt with its URL; the configured handler redacts it."""
    from tenants.services import tenant_create, tenant_set_status
    from tests.webhooks.receiver import Receiver

    settings.WEBHOOK_MAX_ATTEMPTS = 1
    with Receiver() as gone:
        url = f"{gone.url}?token={SECRET}"
    subscribe(url)
    console = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    stream = io.StringIO()
    previous = console.setStream(stream)
    try:
        tenant_create(principal=SETUP, tenant_id="T1", name="T1")
        tenant_set_status(principal=SETUP, tenant_id="T1", status="SUSPENDED")
        deliver(lambda: WebhookDelivery.objects.filter(status="FAILED").exists())
    finally:
        console.setStream(previous)
    logged = stream.getvalue()
    assert "attempt 1" in logged and "token=***" in logged, logged
    _no_secret(logged)
    _no_secret(WebhookAttempt.objects.get().error)
