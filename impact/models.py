from django.db import models

from tenants.models import Tenant


class TenantSampleSet(models.Model):
    """A tenant's own sample exceptions for decision impact (DESIGN §14): the whole set is
    replaced by each upload, so one row per tenant holds it."""

    tenant = models.OneToOneField(
        Tenant, primary_key=True, on_delete=models.CASCADE, related_name="sample_set"
    )
    # [{exception_type, payload}, ...] in upload order; line N of the upload is item N-1.
    samples = models.JSONField(default=list)
    count = models.PositiveIntegerField(default=0)
    checksum = models.CharField(max_length=64)
    uploaded_by = models.CharField(max_length=150)
    uploaded_at = models.DateTimeField()

    class Meta:
        db_table = "tenant_sample_sets"

    def __str__(self) -> str:
        return f"{self.tenant_id}: {self.count} samples"


class ImpactRunStatus(models.TextChoices):
    PENDING = "PENDING"  # waiting for the worker (queue `impact`)
    DONE = "DONE"  # `result` holds the run, complete or partial


class ImpactRun(models.Model):
    """One decision impact, computed once on the worker and stored (issue 25): keyed by what it
    depends on — the tenant, the two (domain pack, tenant pack) pairs (immutable rows) and the
    tenant's sample set — so a review page any reader reloads only reads it. A run that ran out
    of its budget is stored too (`partial`, with `budget_ms`): reloading never recomputes it."""

    key = models.CharField(max_length=64, unique=True)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="impact_runs")
    # [[domain pack id | null, tenant pack id | null] before, [...] after]
    pairs = models.JSONField()
    sample_set_checksum = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(
        max_length=16, choices=ImpactRunStatus.choices, default=ImpactRunStatus.PENDING
    )
    result = models.JSONField(null=True, blank=True)
    partial = models.BooleanField(default=False)
    budget_ms = models.PositiveIntegerField()
    requested_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "impact_runs"

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.status} {self.key[:12]}"
