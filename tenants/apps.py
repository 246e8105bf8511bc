from django.apps import AppConfig

from onboarding.principal import set_principal_builder
from tenants.principals import principal_from_bindings


class TenantsConfig(AppConfig):
    name = "tenants"

    def ready(self) -> None:
        from tenants import receivers  # AppConfig.ready: receivers import models

        receivers.connect()
        set_principal_builder(principal_from_bindings)
