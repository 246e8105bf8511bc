from django.apps import AppConfig

from onboarding import worker


class GovernanceConfig(AppConfig):
    name = "governance"

    def ready(self) -> None:
        # AppConfig.ready: the services import models, which exist only now.
        from governance import services

        worker.register_queue("activations")
        worker.register_recovery_step(services.scheduled_recover)
