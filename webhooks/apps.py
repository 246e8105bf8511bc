from django.apps import AppConfig

from onboarding import worker


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self) -> None:
        # AppConfig.ready: the outbox receivers (next to audit's) and the services import models.
        from webhooks import metrics, receivers, services  # noqa: F401

        metrics.connect()
        worker.register_queue("webhooks", concurrent=True)
        # Endpoints that time out or answer slowly: loops of their own (webhooks.services.breaker).
        worker.register_queue("webhooks_slow", loops_setting="WEBHOOK_SLOW_LANE_CONCURRENCY")
        worker.register_recovery_step(services.outbox_recover)
