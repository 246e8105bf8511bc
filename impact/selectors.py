"""Reads of the impact app, scoped by the acting principal."""

from typing import Any

from impact.models import TenantSampleSet
from onboarding.principal import Principal
from tenants.access import tenant_for_read


def sample_set_get(*, principal: Principal, tenant_id: str) -> dict[str, Any]:
    """The tenant's sample set as both doors show it; an empty set when none was uploaded."""
    tenant = tenant_for_read(principal=principal, tenant_id=tenant_id)
    row = TenantSampleSet.objects.filter(tenant=tenant).first()
    return {
        "tenant_id": tenant.tenant_id,
        "count": row.count if row else 0,
        "checksum": row.checksum if row else None,
        "uploaded_by": row.uploaded_by if row else None,
        "uploaded_at": row.uploaded_at if row else None,
        "samples": list(row.samples) if row else [],
    }
