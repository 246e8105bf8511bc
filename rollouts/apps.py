from django.apps import AppConfig

from onboarding import worker


class RolloutsConfig(AppConfig):
    name = "rollouts"

    def ready(self) -> None:
        # AppConfig.ready: both modules import models, which exist only now.
        from rollouts import metrics, receivers, services

        receivers.connect()
        metrics.connect()
        worker.register_queue("rollouts")
        worker.register_recovery_step(services.rollouts_recover)
