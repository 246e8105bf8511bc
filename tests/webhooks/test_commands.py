"""rotate_webhook_secrets and prune_webhooks."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from tests.webhooks.conftest import subscribe
from webhooks import signing_secrets
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookSubscription


def test_rotate__after_a_key_change__secrets_readable_without_the_fallback(db, settings):
    created = subscribe("https://hooks.example.com/a")
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "the-new-key-0123456789", [old_key]
    call_command("rotate_webhook_secrets", stdout=StringIO())
    settings.SECRET_KEY_FALLBACKS = []
    stored = WebhookSubscription.objects.get().secret_encrypted
    assert signing_secrets.decrypt(stored) == created.secret


def test_rotate__key_lost__names_the_webhooks_and_fails(db, settings):
    hook = subscribe("https://hooks.example.com/a").subscription
    settings.SECRET_KEY = "an-unrelated-key-0123456789"
    with pytest.raises(CommandError, match=str(hook.pk)):
        call_command("rotate_webhook_secrets", stdout=StringIO())


def test_prune__old_finished_deliveries_go__pending_and_recent_stay(db):
    hook = subscribe("https://hooks.example.com/a").subscription
    old = timezone.now() - timedelta(days=40)

    def delivery(status: str, when):
        event = WebhookEvent.objects.create(type="pack.imported", occurred_at=when)
        row = WebhookDelivery.objects.create(
            event=event, subscription=hook, status=status, next_attempt_at=when, created_at=when
        )
        WebhookAttempt.objects.create(delivery=row, number=1, started_at=when)
        return row

    gone = [delivery(status, old) for status in ("DELIVERED", "FAILED", "CANCELLED")]
    kept = [delivery("PENDING", old), delivery("DELIVERED", timezone.now())]
    call_command("prune_webhooks", "--days", "30", stdout=StringIO())
    assert set(WebhookDelivery.objects.values_list("pk", flat=True)) == {d.pk for d in kept}
    assert not WebhookEvent.objects.filter(pk__in=[d.event_id for d in gone]).exists()
    assert WebhookAttempt.objects.count() == 2
