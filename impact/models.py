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
