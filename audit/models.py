"""The audit trail (DESIGN §10): one append-only, hash-chained row per domain event."""

from django.db import models

from onboarding.errors import Conflict

GENESIS_HASH = "0" * 64


class AuditAppendOnlyError(Conflict):
    code = "audit_append_only"


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditAppendOnlyError("Audit events are append-only: they are never updated.")

    def delete(self):
        raise AuditAppendOnlyError("Audit events are append-only: they are never deleted.")

    def bulk_create(self, *args, **kwargs):
        # A bulk insert would skip the chain lock and the hash: rows go through audit_append.
        raise AuditAppendOnlyError("Audit events are appended one at a time through the chain.")

    def insert_chained(self, rows: list["AuditEvent"]) -> None:
        """audit.services only: rows it has hashed onto the head it read under the chain lock."""
        super().bulk_create(rows, batch_size=1000)

    def bulk_update(self, *args, **kwargs):
        raise AuditAppendOnlyError("Audit events are append-only: they are never updated.")


class AuditEvent(models.Model):
    """Append-only: the model refuses changes, and on PostgreSQL a trigger refuses UPDATE and
    DELETE from raw SQL too (migration audit 0002). `tenant_id` is a plain column, not a foreign
    key, so that no deletion elsewhere can ever touch the trail."""

    occurred_at = models.DateTimeField()
    actor = models.CharField(max_length=150)
    action = models.CharField(max_length=64)
    tenant_id = models.CharField(max_length=64, null=True, blank=True)
    object_type = models.CharField(max_length=64, blank=True, default="")
    object_id = models.CharField(max_length=200, blank=True, default="")
    domain = models.CharField(max_length=200, blank=True, default="")
    version = models.CharField(max_length=50, blank=True, default="")
    checksum = models.CharField(max_length=64, blank=True, default="")
    summary = models.TextField()
    details = models.JSONField(default=dict, blank=True)
    request_id = models.CharField(max_length=128, blank=True, default="")
    # Unique: two rows claiming the same predecessor would be a fork of the chain.
    prev_hash = models.CharField(max_length=64, unique=True)
    # Not indexed: no query looks a row up by its hash (the chain is walked by id), and a fork
    # is already refused by the unique prev_hash (audit migration 0006).
    hash = models.CharField(max_length=64)
    # Which AUDIT_HMAC key signed `hash` (audit.services.key_id_of); empty: plain SHA-256, for
    # rows written before the chain was keyed.
    key_id = models.CharField(max_length=16, blank=True, default="")

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        db_table = "audit_events"
        ordering = ["-occurred_at", "-id"]
        indexes = [
            # `id` too: a tenant's page, newest first, is read straight off this index.
            models.Index(
                fields=["tenant_id", "occurred_at", "id"], name="audit_tenant_time_id_idx"
            ),
            # The action filter, newest first, read straight off this index (keyset pages).
            models.Index(fields=["action", "occurred_at", "id"], name="audit_action_time_id_idx"),
            models.Index(fields=["actor"], name="audit_actor_idx"),
            models.Index(fields=["occurred_at"], name="audit_time_idx"),
            models.Index(fields=["object_type"], name="audit_object_type_idx"),
            models.Index(fields=["domain", "version"], name="audit_domain_version_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} by {self.actor}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditAppendOnlyError("Audit events are append-only: they are never updated.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditAppendOnlyError("Audit events are append-only: they are never deleted.")


class AuditCheckpoint(models.Model):
    """A point up to which `verify_audit` found the chain intact: the row id, its hash, and an
    HMAC of both with the audit key (`key_id` names it), so that whoever can write to the
    database cannot forge one. The next `verify_audit` starts after the newest valid checkpoint;
    `verify_audit --full` ignores them."""

    event_id = models.BigIntegerField()
    event_hash = models.CharField(max_length=64)
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=64)
    rows_verified = models.BigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "audit_checkpoints"
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"checkpoint at audit row {self.event_id}"
