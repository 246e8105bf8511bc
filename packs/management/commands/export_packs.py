import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from packs.canonical import canonical_json
from packs.models import DomainPack, PackStatus, TenantPack

MANIFEST = "export_manifest.json"


class Command(BaseCommand):
    help = (
        "Write every stored pack version as canonical JSON, one file per version: "
        "DIR/domain/<domain>/<version>.json and DIR/tenant/<tenant_id>/<version>.json, plus "
        f"DIR/{MANIFEST} naming each file's version, checksum, status and, for tenant packs, the "
        "domain pack version it was validated against. "
        "`import_packs DIR` into an empty database reproduces the same versions and checksums "
        "(tenant packs are checked against the recorded domain version, not the newest one). "
        "Exit status: 0 on success, 2 when DIR cannot be written."
    )

    def add_arguments(self, parser):
        parser.add_argument("dir")
        parser.add_argument("--tenant", help="only this tenant's packs (and no domain packs)")
        parser.add_argument("--domain", help="only packs of this domain")
        parser.add_argument("--status", choices=PackStatus.values, help="only packs in this status")

    def handle(self, *args, dir, tenant, domain, status, **options):
        root = Path(dir)
        entries = []
        try:
            root.mkdir(parents=True, exist_ok=True)
            for pack in self._packs(tenant, domain, status):
                owner = pack.domain if pack.pack_type == "domain" else pack.tenant_id
                folder = root / pack.pack_type / owner
                folder.mkdir(parents=True, exist_ok=True)
                name = folder / f"{pack.version}.json"
                name.write_bytes(canonical_json(pack.content_json))
                entries.append(self._entry(pack, name.relative_to(root)))
            (root / MANIFEST).write_text(
                json.dumps({"format": "export_packs/1", "packs": entries}, indent=1) + "\n"
            )
        except OSError as exc:
            raise CommandError(f"{dir}: {exc}", returncode=2) from None
        self.stdout.write(f"exported {len(entries)} pack version(s) to {root}")

    @staticmethod
    def _entry(pack, path: Path) -> dict:
        entry = {
            "path": path.as_posix(),
            "pack_type": pack.pack_type,
            "domain": pack.domain,
            "version": pack.version,
            "checksum": pack.checksum,
            "status": pack.status,
        }
        if isinstance(pack, TenantPack):
            entry["tenant_id"] = pack.tenant_id
            entry["validated_against_version"] = pack.validated_against_version or None
        return entry

    def _packs(self, tenant, domain, status):
        filters = {}
        if domain:
            filters["domain"] = domain
        if status:
            filters["status"] = status
        if not tenant:
            yield from DomainPack.objects.filter(**filters).order_by("domain", "version_key")
            tenant_packs = TenantPack.objects.filter(**filters)
        else:
            tenant_packs = TenantPack.objects.filter(tenant_id=tenant, **filters)
        yield from tenant_packs.order_by("tenant_id", "version_key").iterator(chunk_size=200)
