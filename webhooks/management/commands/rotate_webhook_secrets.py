"""python manage.py rotate_webhook_secrets

After SECRET_KEY changed (the old key moved to SECRET_KEY_FALLBACKS): re-encrypt every stored
webhook signing secret under the new key, so the fallback can then be dropped. The secrets
themselves do not change; receivers need no update."""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from webhooks.models import WebhookSubscription
from webhooks.signing_secrets import SecretUnreadable, reencrypt


class Command(BaseCommand):
    help = "Re-encrypt webhook signing secrets under the current SECRET_KEY."

    def handle(self, *args, **options) -> None:
        done = 0
        unreadable = []
        with transaction.atomic():
            for subscription in WebhookSubscription.objects.select_for_update().order_by("pk"):
                try:
                    subscription.secret_encrypted = reencrypt(subscription.secret_encrypted)
                except SecretUnreadable:
                    unreadable.append(subscription.pk)
                    continue
                subscription.save(update_fields=["secret_encrypted"])
                done += 1
        self.stdout.write(f"re-encrypted {done} webhook secret(s)")
        if unreadable:
            raise CommandError(
                f"webhooks {unreadable} were encrypted under a key that is neither SECRET_KEY "
                "nor in SECRET_KEY_FALLBACKS: create them anew"
            )
