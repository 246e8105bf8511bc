from django.apps import AppConfig

from onboarding import worker


class RuntimeConfigConfig(AppConfig):
    name = "runtime_config"

    def ready(self) -> None:
        # AppConfig.ready: these modules import models, which exist only now.
        from runtime_config import invalidation, services

        invalidation.connect()
        worker.register_queue("activations")
        worker.register_recovery_step(services.scheduled_recover)
