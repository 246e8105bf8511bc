"""Shared set-up for the activation tests: packs stored directly through the low-level pack
services, so these tests do not depend on the import API."""

import copy

from django.urls import reverse

from packs.services import domain_pack_create, tenant_pack_create
from runtime_config.models import ActivationHistory, ConfigChangeRequest, TenantActiveConfig
from tenants.principals import Principal
from tests.api.conftest import PROBLEM, assert_problem  # noqa: F401 (shared by the tests here)

DOMAIN = "CapitalMarketsTrading"
SETUP = Principal.system("setup")
ACTIVATE_URL = "/admin/packs/activate"


def domain_pack(content: dict, version: str = "v3.2", domain: str = DOMAIN):
    return domain_pack_create(principal=SETUP, domain=domain, version=version, content=content)


def tenant_pack(content: dict, version: str = "v1.4", tenant_id: str = "TENANT_A"):
    body = copy.deepcopy(content)
    body["tenantId"] = tenant_id
    return tenant_pack_create(principal=SETUP, tenant_id=tenant_id, version=version, content=body)


def counts() -> tuple[int, int, int]:
    return (
        TenantActiveConfig.objects.count(),
        ActivationHistory.objects.count(),
        ConfigChangeRequest.objects.count(),
    )


def rollback_url(tenant_id: str = "TENANT_A") -> str:
    return reverse("tenant-rollback", kwargs={"tenant_id": tenant_id})


def history_url(tenant_id: str = "TENANT_A") -> str:
    return reverse("tenant-activations", kwargs={"tenant_id": tenant_id})


def review_url(action: str, change_request_id) -> str:
    return reverse(f"config-change-{action}", kwargs={"id": change_request_id})
