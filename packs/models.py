from django.db import models

from onboarding.errors import Conflict
from packs import canonical


class PackStatus(models.TextChoices):
    DRAFT = "DRAFT"
    ACTIVE = "ACTIVE"
    DEPRECATED = "DEPRECATED"


ALLOWED_TRANSITIONS = {
    ("DRAFT", "ACTIVE"),
    ("DRAFT", "DEPRECATED"),
    ("ACTIVE", "DEPRECATED"),
    ("DEPRECATED", "ACTIVE"),
}


MUTABLE_FIELDS = {"status", "validation_warnings"}


class ImmutablePackError(Conflict):
    code = "pack_immutable"


class PackQuerySet(models.QuerySet):
    def update(self, **kwargs):
        if set(kwargs) - MUTABLE_FIELDS:
            raise ImmutablePackError(
                f"Pack fields {sorted(set(kwargs) - MUTABLE_FIELDS)} are immutable."
            )
        return super().update(**kwargs)

    def delete(self):
        raise ImmutablePackError("Pack versions are never deleted; deprecate them instead.")


class PackBase(models.Model):
    """Rows are immutable after insert except `status` (DESIGN §3). The model refuses changes;
    on PostgreSQL a trigger refuses them from raw SQL too (migration packs 0002)."""

    IMMUTABLE_FIELDS = (
        "domain",
        "version",
        "version_key",
        "content_json",
        "checksum",
        "size_bytes",
    )

    domain = models.CharField(max_length=200)
    version = models.CharField(max_length=50)
    version_key = models.CharField(max_length=200)
    content_json = models.JSONField()
    checksum = models.CharField(max_length=64)
    size_bytes = models.PositiveIntegerField()
    status = models.CharField(max_length=16, choices=PackStatus.choices, default="DRAFT")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150)
    validation_warnings = models.JSONField(default=list, blank=True)

    objects = PackQuerySet.as_manager()

    class Meta:
        abstract = True

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded = {
            name: value
            for name, value in zip(field_names, values, strict=False)
            if name in cls.IMMUTABLE_FIELDS or name == "tenant_id"
        }
        return instance

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        only_mutable = update_fields is not None and set(update_fields) <= MUTABLE_FIELDS
        if not self._state.adding and not only_mutable:
            self._refuse_immutable_changes()
        super().save(*args, **kwargs)

    def _refuse_immutable_changes(self) -> None:
        loaded = getattr(self, "_loaded", {})
        for name, value in loaded.items():
            # content_json may have been mutated in place: compare it through the checksum.
            if name != "content_json" and getattr(self, name) != value:
                raise ImmutablePackError(f"Pack field {name!r} is immutable.")
        if canonical.checksum(self.content_json) != loaded.get("checksum", self.checksum):
            raise ImmutablePackError("Pack field 'content_json' is immutable.")

    def delete(self, *args, **kwargs):
        raise ImmutablePackError("Pack versions are never deleted; deprecate them instead.")

    def content_intact(self) -> bool:
        """Whether `content_json` as read from the database still hashes to `checksum` (someone
        with database access may have rewritten the row past the trigger). Computed once per
        loaded row: a 5 MB pack costs a few tens of milliseconds, and an activation asks more
        than once (before and after taking its locks)."""
        memo = getattr(self, "_intact", None)
        if memo is None or memo[0] is not self.content_json:
            memo = (self.content_json, canonical.checksum(self.content_json) == self.checksum)
            self._intact = memo
        return memo[1]

    @property
    def pack_type(self) -> str:
        raise NotImplementedError


class DomainPack(PackBase):
    class Meta:
        db_table = "domain_packs"
        indexes = [
            models.Index(fields=["domain"], name="domain_packs_domain_idx"),
            models.Index(fields=["version"], name="domain_packs_version_idx"),
            models.Index(fields=["status"], name="domain_packs_status_idx"),
            models.Index(fields=["domain", "version_key"], name="domain_packs_dom_vkey_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["domain", "version"], name="domain_packs_domain_version"
            ),
            # Equal by parse under another spelling (v1.0 / 1.0.0) is the same version.
            models.UniqueConstraint(
                fields=["domain", "version_key"], name="domain_packs_domain_version_key"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=PackStatus.values), name="domain_packs_status_valid"
            ),
        ]

    pack_type = "domain"

    def __str__(self) -> str:
        return f"{self.domain} {self.version}"


class TenantPack(PackBase):
    IMMUTABLE_FIELDS = (*PackBase.IMMUTABLE_FIELDS, "validated_against_version")

    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.PROTECT, related_name="tenant_packs"
    )
    # The domain pack version the import validated this pack against ("" when none was found).
    # export_packs writes it to its manifest, so that import_packs into an empty database checks
    # the pack against the same version, not against the domain's newest one.
    validated_against_version = models.CharField(max_length=50, blank=True, default="")

    class Meta:
        db_table = "tenant_packs"
        indexes = [
            models.Index(fields=["tenant"], name="tenant_packs_tenant_idx"),
            models.Index(fields=["version"], name="tenant_packs_version_idx"),
            models.Index(fields=["status"], name="tenant_packs_status_idx"),
            models.Index(fields=["tenant", "version_key"], name="tenant_packs_ten_vkey_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "version"], name="tenant_packs_tenant_version"
            ),
            models.UniqueConstraint(
                fields=["tenant", "version_key"], name="tenant_packs_tenant_version_key"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=PackStatus.values), name="tenant_packs_status_valid"
            ),
        ]

    pack_type = "tenant"

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.version}"


class PlaybookLink(models.Model):
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="playbook_links"
    )
    domain = models.CharField(max_length=200)
    playbook_id = models.CharField(max_length=200)
    # Null follows the tenant's active domain pack version.
    domain_pack = models.ForeignKey(
        DomainPack, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150)

    class Meta:
        db_table = "playbook_links"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "domain", "playbook_id"], name="playbook_links_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}:{self.domain}:{self.playbook_id}"
