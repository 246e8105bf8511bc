from django.apps import AppConfig


class RuntimeConfigConfig(AppConfig):
    name = "runtime_config"
