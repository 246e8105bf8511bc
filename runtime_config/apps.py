from django.apps import AppConfig


class RuntimeConfigConfig(AppConfig):
    name = "runtime_config"

    def ready(self) -> None:
        from runtime_config import invalidation  # AppConfig.ready: it imports models

        invalidation.connect()
