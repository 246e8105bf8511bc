"""python manage.py prune_webhooks [--days N] [--dry-run]

Delete finished deliveries (DELIVERED, FAILED, CANCELLED) older than N days with their attempts,
and the events left without any delivery. Pending deliveries are never touched. The audit trail
keeps its own record of every change; this is the delivery log only."""

from datetime import timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEvent


class Command(BaseCommand):
    help = "Delete finished webhook deliveries older than --days (default 30)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=30, help="Keep this many days (≥ 1).")
        parser.add_argument("--dry-run", action="store_true", help="Only count.")

    def handle(self, *args, days: int = 30, dry_run: bool = False, **options) -> None:
        days = max(1, days)
        cutoff = timezone.now() - timedelta(days=days)
        finished = WebhookDelivery.objects.filter(
            created_at__lt=cutoff, status__in=[s for s in DeliveryStatus.values if s != "PENDING"]
        )
        if dry_run:
            self.stdout.write(f"would delete {finished.count()} delivery(ies)")
            return
        with transaction.atomic():
            # Redeliveries point at their original (SET_NULL); the delete handles it.
            deliveries, _ = finished.delete()
            events, _ = WebhookEvent.objects.filter(
                occurred_at__lt=cutoff, deliveries__isnull=True
            ).delete()
        self.stdout.write(
            f"deleted {deliveries} row(s) of deliveries and attempts, {events} event row(s)"
        )
