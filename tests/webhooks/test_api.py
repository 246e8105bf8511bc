"""The webhook API: subscriptions (secret shown once, stored encrypted), strict bodies, scoping,
the delivery log and redelivery. Who may call what is in tests/api/test_rbac_matrix.py."""

import base64

import pytest
from django.db import connection

from audit.models import AuditEvent
from tests.api.conftest import assert_problem, send
from tests.webhooks.conftest import SETUP, deliver, settle, subscribe
from webhooks import signing_secrets
from webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from webhooks.services import webhook_create

URL = "/admin/webhooks"
HOOK = "https://hooks.example.com/onboarding"


def state() -> tuple:
    return (
        sorted(WebhookSubscription.objects.values_list("id", "url", "events", "active")),
        WebhookDelivery.objects.count(),
        AuditEvent.objects.count(),
    )


def create(actor, **body):
    return send(actor.client, "POST", URL, {"url": HOOK, "events": ["config.activated"], **body})


def test_create__platform_admin__201_with_the_secret_once_and_an_audit_row(admin):
    response = create(admin, events=["config.activated", "pack.imported", "config.activated"])
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["url"] == HOOK and body["tenant_id"] is None and body["active"] is True
    assert body["events"] == ["config.activated", "pack.imported"]  # duplicates dropped
    secret = body["secret"]
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    for again in (
        send(admin.client, "GET", f"{URL}/{body['id']}"),
        send(admin.client, "GET", URL),
    ):
        assert again.status_code == 200
        assert secret not in again.content.decode() and "secret" not in again.content.decode()
    row = AuditEvent.objects.get(action="webhook.created")
    assert row.object_id == str(body["id"]) and secret[6:] not in str(row.details)


def test_secret__stored_encrypted_under_secret_key__readable_only_with_it(admin, settings):
    secret = create(admin).json()["secret"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret_encrypted FROM webhook_subscriptions")
        stored = cursor.fetchone()[0]
    assert secret not in stored and secret[6:] not in stored
    assert signing_secrets.decrypt(stored) == secret
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-secret-key-after-rotation"
    with pytest.raises(signing_secrets.SecretUnreadable):
        signing_secrets.decrypt(stored)
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert signing_secrets.decrypt(stored) == secret
    rotated = signing_secrets.reencrypt(stored)
    settings.SECRET_KEY_FALLBACKS = []
    assert signing_secrets.decrypt(rotated) == secret


def test_create__tenant_admin__own_tenant_only(owner, tenant_b):
    response = create(owner, tenant_id="TENANT_A")
    assert response.status_code == 201 and response.json()["tenant_id"] == "TENANT_A"
    before = state()
    assert_problem(create(owner), 403, "platform_admin_required")
    assert_problem(create(owner, tenant_id="TENANT_B"), 404, "tenant_not_found")
    assert state() == before


@pytest.mark.parametrize(
    ("body", "status", "code", "path"),
    [
        (
            {"url": HOOK, "events": ["config.activated"], "secret": "x"},
            400,
            "unknown_field",
            "/secret",
        ),
        ({"url": HOOK, "events": []}, 400, "invalid_event_type", "/events"),
        ({"url": HOOK, "events": ["config.activate"]}, 400, "invalid_event_type", "/events/0"),
        ({"url": HOOK, "events": "config.activated"}, 400, "wrong_type", "/events"),
        ({"url": HOOK, "events": [5]}, 400, "wrong_type", "/events/0"),
        ({"url": 5, "events": ["pack.imported"]}, 400, "wrong_type", "/url"),
        ({"events": ["pack.imported"]}, 400, "missing_required", "/url"),
        ({"url": "", "events": ["pack.imported"]}, 400, "invalid_webhook_url", "/url"),
        (
            {"url": "ftp://h.example.com/", "events": ["pack.imported"]},
            400,
            "invalid_webhook_url",
            "/url",
        ),
        (
            {"url": "https://u:p@h.example.com/", "events": ["pack.imported"]},
            400,
            "invalid_webhook_url",
            "/url",
        ),
        (
            {"url": "https://h.example.com/\x00", "events": ["pack.imported"]},
            400,
            "invalid_string",
            "/url",
        ),
        (
            {"url": "https://h.example.com/" + "a" * 2100, "events": ["pack.imported"]},
            400,
            "invalid_webhook_url",
            "/url",
        ),
        (
            {"url": "http://127.0.0.1:8000/", "events": ["pack.imported"]},
            400,
            "webhook_url_forbidden",
            "/url",
        ),
        (
            {"url": "http://169.254.169.254/latest/meta-data", "events": ["pack.imported"]},
            400,
            "webhook_url_forbidden",
            "/url",
        ),
        (
            {"url": "http://[::1]/", "events": ["pack.imported"]},
            400,
            "webhook_url_forbidden",
            "/url",
        ),
        (
            {"url": "http://localhost/", "events": ["pack.imported"]},
            400,
            "webhook_url_forbidden",
            "/url",
        ),
        (
            {"url": HOOK, "events": ["pack.imported"], "tenant_id": "NOPE"},
            404,
            "tenant_not_found",
            None,
        ),
        (
            {"url": HOOK, "events": ["pack.imported"], "tenant_id": "A\x00"},
            400,
            "invalid_string",
            None,
        ),
        ({"url": HOOK, "events": ["pack.imported"], "active": "yes"}, 400, "wrong_type", "/active"),
    ],
)
def test_create__bad_input__problem_and_nothing_written(admin, body, status, code, path):
    before = state()
    problem = assert_problem(send(admin.client, "POST", URL, body), status, code)
    if path is not None:
        assert path in [error["path"] for error in problem["errors"]], problem
    assert state() == before


def test_create__raw_body_not_an_object__400(admin):
    before = state()
    assert_problem(send(admin.client, "POST", URL, raw=b"[1]"), 400, "wrong_type")
    assert state() == before


def test_list__scoped_to_the_principals_tenants_and_filterable(admin, owner, outsider):
    platform = subscribe(HOOK).subscription
    hook_a = subscribe(HOOK, tenant_id="TENANT_A").subscription
    hook_b = subscribe(HOOK, tenant_id="TENANT_B", active=False).subscription

    def ids(actor, query=""):
        response = send(actor.client, "GET", URL + query)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids(admin) == [platform.pk, hook_a.pk, hook_b.pk]
    assert ids(admin, "?active=false") == [hook_b.pk]
    assert ids(admin, "?tenant_id=TENANT_A") == [hook_a.pk]
    assert ids(owner) == [hook_a.pk]
    assert ids(owner, "?tenant_id=TENANT_B") == []
    assert ids(outsider) == [hook_b.pk]
    assert_problem(send(admin.client, "GET", URL + "?active=maybe"), 400, "invalid_filter")


def test_patch__changes_fields__audit_row_with_before_and_after(admin):
    hook = subscribe(HOOK).subscription
    response = send(
        admin.client,
        "PATCH",
        f"{URL}/{hook.pk}",
        {
            "url": "https://other.example.com/x?token=t",
            "events": ["pack.imported"],
            "active": False,
        },
    )
    assert response.status_code == 200, response.content
    assert response.json()["url"] == "https://other.example.com/x?token=t"
    assert response.json()["events"] == ["pack.imported"] and response.json()["active"] is False
    row = AuditEvent.objects.get(action="webhook.updated")
    assert row.details["before"]["url"] == HOOK
    assert row.details["after"]["active"] is False
    before = AuditEvent.objects.count()
    assert send(admin.client, "PATCH", f"{URL}/{hook.pk}", {"active": False}).status_code == 200
    assert AuditEvent.objects.count() == before  # no change, no row


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"tenant_id": "TENANT_B"}, "unknown_field"),
        ({"url": "gopher://x.example.com"}, "invalid_webhook_url"),
        ({"events": []}, "invalid_event_type"),
        ({"url": "http://10.0.0.8/hook"}, "webhook_url_forbidden"),
    ],
)
def test_patch__bad_input__problem_and_nothing_written(admin, body, code):
    hook = subscribe(HOOK).subscription
    before = state()
    assert_problem(send(admin.client, "PATCH", f"{URL}/{hook.pk}", body), 400, code)
    assert state() == before


@pytest.mark.parametrize("webhook_id", ["0", "abc", "99999999999999999999", "-1", "1e3"])
def test_detail__id_that_names_nothing__404(admin, webhook_id):
    assert_problem(send(admin.client, "GET", f"{URL}/{webhook_id}"), 404, "webhook_not_found")


@pytest.mark.django_db(transaction=True)  # the worker's loop runs here: it commits
def test_delete__204_deliveries_gone_audit_row(admin, receiver, fast_retries):
    from tenants.services import tenant_create, tenant_set_status

    hook = subscribe(receiver.url).subscription
    tenant_create(principal=SETUP, tenant_id="T1", name="T1")
    tenant_set_status(principal=SETUP, tenant_id="T1", status="SUSPENDED")
    assert WebhookDelivery.objects.count() == 1
    assert send(admin.client, "DELETE", f"{URL}/{hook.pk}").status_code == 204
    assert WebhookDelivery.objects.count() == 0 and WebhookSubscription.objects.count() == 0
    assert AuditEvent.objects.filter(action="webhook.deleted", object_id=str(hook.pk)).exists()
    settle()  # its queued task finds nothing to send
    assert receiver.requests == []
    assert_problem(send(admin.client, "DELETE", f"{URL}/{hook.pk}"), 404, "webhook_not_found")


@pytest.mark.django_db(transaction=True)
def test_deliveries_and_redeliver__attempts_listed__redelivery_sent_with_the_same_id(
    admin, receiver, fast_retries
):
    from tests.webhooks.receiver import Answer

    receiver.answers = [Answer(500, b"no")]
    from tenants.services import tenant_create, tenant_set_status

    hook = subscribe(receiver.url).subscription
    tenant_create(principal=SETUP, tenant_id="T1", name="T1")
    tenant_set_status(principal=SETUP, tenant_id="T1", status="SUSPENDED")
    pending = WebhookDelivery.objects.get()
    redeliver = f"{URL}/{hook.pk}/deliveries/{pending.pk}/redeliver"
    assert_problem(send(admin.client, "POST", redeliver, {}), 409, "delivery_pending")
    deliver(lambda: WebhookDelivery.objects.filter(status="DELIVERED").exists())

    listed = send(admin.client, "GET", f"{URL}/{hook.pk}/deliveries").json()
    assert listed["count"] == 1
    row = listed["results"][0]
    assert row["status"] == "DELIVERED" and row["event_type"] == "tenant.status_changed"
    assert [(a["number"], a["status_code"]) for a in row["attempts"]] == [(1, 500), (2, 200)]
    assert row["attempts"][0]["response_excerpt"] == "no"

    response = send(admin.client, "POST", redeliver, {})
    assert response.status_code == 202, response.content
    assert response.json()["redelivery_of"] == pending.pk
    assert response.json()["requested_by"] == admin.username
    deliver(lambda: len(receiver.requests) == 3)
    ids = {r.headers["webhook-id"] for r in receiver.requests}
    assert ids == {pending.event_id}
    assert AuditEvent.objects.filter(action="webhook.redelivered").count() == 1
    assert WebhookEvent.objects.count() == 1
    assert_problem(send(admin.client, "POST", redeliver, {"x": 1}), 400, "unknown_field")
    assert_problem(
        send(admin.client, "POST", f"{URL}/{hook.pk}/deliveries/999999/redeliver", {}),
        404,
        "webhook_delivery_not_found",
    )
    assert_problem(
        send(admin.client, "GET", f"{URL}/{hook.pk}/deliveries?status=LOST"), 400, "invalid_filter"
    )


def test_redeliver__inactive_webhook__409(admin):
    hook = webhook_create(
        principal=SETUP, url=HOOK, events=["pack.imported"], active=False
    ).subscription
    event = WebhookEvent.objects.create(type="pack.imported", occurred_at=hook.created_at)
    delivery = WebhookDelivery.objects.create(
        event=event,
        subscription=hook,
        status="FAILED",
        next_attempt_at=hook.created_at,
        created_at=hook.created_at,
    )
    before = state()
    response = send(admin.client, "POST", f"{URL}/{hook.pk}/deliveries/{delivery.pk}/redeliver")
    assert_problem(response, 409, "webhook_inactive")
    assert state() == before
