from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from packs.canonical import canonical_json
from packs.models import DomainPack, PackStatus, TenantPack


class Command(BaseCommand):
    help = (
        "Write every stored pack version as canonical JSON, one file per version: "
        "DIR/domain/<domain>/<version>.json and DIR/tenant/<tenant_id>/<version>.json. "
        "`import_packs DIR` into an empty database reproduces the same versions and checksums. "
        "Exit status: 0 on success, 2 when DIR cannot be written."
    )

    def add_arguments(self, parser):
        parser.add_argument("dir")
        parser.add_argument("--tenant", help="only this tenant's packs (and no domain packs)")
        parser.add_argument("--domain", help="only packs of this domain")
        parser.add_argument("--status", choices=PackStatus.values, help="only packs in this status")

    def handle(self, *args, dir, tenant, domain, status, **options):
        root = Path(dir)
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CommandError(f"{dir}: {exc}", returncode=2) from None
        written = 0
        for pack in self._packs(tenant, domain, status):
            owner = pack.domain if pack.pack_type == "domain" else pack.tenant_id
            folder = root / pack.pack_type / owner
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{pack.version}.json").write_bytes(canonical_json(pack.content_json))
            written += 1
        self.stdout.write(f"exported {written} pack version(s) to {root}")

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
