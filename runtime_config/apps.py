from django.apps import AppConfig


class RuntimeConfigConfig(AppConfig):
    name = "runtime_config"

    def ready(self) -> None:
        # AppConfig.ready: both modules import models, which exist only now.
        from runtime_config import invalidation, metrics, receivers

        invalidation.connect()
        receivers.connect()
        metrics.connect()
