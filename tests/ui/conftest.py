"""Browser-session helpers for the page tests: a Django test client logged in as an actor."""

import pytest
from django.test import Client

from packs.services import domain_pack_import, tenant_pack_import
from tenants.principals import Principal
from tests.conftest import load_reference

HTML = {"HTTP_ACCEPT": "text/html,application/xhtml+xml"}
HTMX = {"HTTP_ACCEPT": "text/html", "HTTP_HX_REQUEST": "true"}


def browser(actor=None, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    if actor is not None:
        client.force_login(actor.user)
    return client


def seed_demo_packs():
    """TENANT_FINANCE_001 and the demo's two packs, imported (not activated)."""
    from tenants.services import tenant_create

    system = Principal.system("setup")
    tenant_create(principal=system, tenant_id="TENANT_FINANCE_001", name="Finance Corp")
    domain = domain_pack_import(
        principal=system, content=load_reference("domain_capital_markets.json"), version="v3.2"
    ).pack
    tenant = tenant_pack_import(
        principal=system,
        tenant_id="TENANT_FINANCE_001",
        content=load_reference("tenant_finance_001.json"),
        version="v1.4",
    ).pack
    return domain, tenant


@pytest.fixture
def demo_packs(db):
    return seed_demo_packs()


@pytest.fixture
def demo_active(demo_packs):
    from runtime_config.services import config_activate

    config_activate(
        principal=Principal.system("setup"),
        tenant_id="TENANT_FINANCE_001",
        domain="CapitalMarketsTrading",
        domain_pack_version="v3.2",
        tenant_pack_version="v1.4",
    )
    return demo_packs


@pytest.fixture
def finance_tenant_row_id(db):
    from tenants.services import tenant_create

    tenant_create(principal=Principal.system("setup"), tenant_id="TENANT_FINANCE_001", name="F")
    return "TENANT_FINANCE_001"
