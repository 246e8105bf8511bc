"""Writes of the impact app: a tenant's sample set (DESIGN §14 *Decision impact*)."""

from django.db import transaction
from django.utils import timezone

from impact import signals
from impact.models import TenantSampleSet
from impact.samples import parse_samples
from onboarding.events import DomainEvent, send_event
from onboarding.principal import Principal
from packs.canonical import checksum
from tenants.access import tenant_for_write


def sample_set_replace(*, principal: Principal, tenant_id: str, data: bytes) -> TenantSampleSet:
    """Replace the tenant's whole sample set with the JSON Lines in `data` (an empty upload
    empties it). A refused upload writes nothing and leaves the previous set in place."""
    tenant = tenant_for_write(principal=principal, tenant_id=tenant_id)
    samples = parse_samples(data)
    digest = checksum(samples)
    with transaction.atomic():
        # The tenant row serializes uploads: two first uploads would otherwise both insert.
        tenant = tenant_for_write(principal=principal, tenant_id=tenant.tenant_id, lock=True)
        previous = (
            TenantSampleSet.objects.filter(tenant=tenant).values_list("count", "checksum").first()
        )
        sample_set, _ = TenantSampleSet.objects.update_or_create(
            tenant=tenant,
            defaults={
                "samples": samples,
                "count": len(samples),
                "checksum": digest,
                "uploaded_by": principal.username,
                "uploaded_at": timezone.now(),
            },
        )
        send_event(
            signals.sample_set_replaced,
            TenantSampleSet,
            DomainEvent(
                action="tenant.samples_replaced",
                actor=principal.username,
                summary=f"Sample set of {tenant.tenant_id} replaced: {len(samples):,} samples",
                tenant_id=tenant.tenant_id,
                object_type="tenant_sample_set",
                object_id=tenant.tenant_id,
                checksum=digest,
                details={
                    "count": len(samples),
                    "checksum": digest,
                    "previous": None
                    if previous is None
                    else {"count": previous[0], "checksum": previous[1]},
                },
            ),
        )
    return sample_set
