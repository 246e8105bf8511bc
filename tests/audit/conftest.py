"""Helpers for the audit tests: a few packs in the store and a way to read the chain."""

import pytest

from packs.services import (
    domain_pack_create,
    domain_pack_import,
    tenant_pack_create,
    tenant_pack_import,
)


@pytest.fixture
def domain_pack(admin, finance_domain):
    return domain_pack_create(
        principal=admin.principal,
        domain=finance_domain["domainName"],
        version="1.0.0",
        content=finance_domain,
    )


@pytest.fixture
def tenant_pack(admin, tenant_a, finance_tenant):
    content = dict(finance_tenant, tenantId=tenant_a.tenant_id)
    return tenant_pack_create(
        principal=admin.principal, tenant_id=tenant_a.tenant_id, version="1.0.0", content=content
    )


# The browser fixtures of the console tests (live server, Chromium, logged-in pages).
from tests.ui.conftest import chromium, open_page  # noqa: E402, F401


@pytest.fixture
def imported_tenant_pack(admin, tenant_a, finance_domain, finance_tenant):
    """A domain pack and a tenant pack of tenant A imported through the services (audited)."""
    domain_pack_import(principal=admin.principal, content=finance_domain, version="1.0.0")
    content = dict(finance_tenant, tenantId=tenant_a.tenant_id)
    return tenant_pack_import(
        principal=admin.principal, tenant_id=tenant_a.tenant_id, content=content, version="1.1"
    )
