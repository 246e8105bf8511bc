from django.apps import AppConfig

from onboarding import worker


class GovernanceConfig(AppConfig):
    name = "governance"

    def ready(self) -> None:
        # AppConfig.ready: both modules import models, which exist only now.
        from governance import metrics, receivers, services

        receivers.connect()
        metrics.connect()
        worker.register_queue("activations")
        worker.register_recovery_step(services.scheduled_recover)
