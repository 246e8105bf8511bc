from django.core.management.base import BaseCommand, CommandError

from packs.canonical import checksum
from packs.models import DomainPack, TenantPack


class Command(BaseCommand):
    help = (
        "Recompute the checksum of every stored pack version and compare it with the stored one. "
        "Exit status: 0 when all match, 1 naming each mismatch."
    )

    def handle(self, *args, **options):
        checked = 0
        mismatches = []
        for model in (DomainPack, TenantPack):
            rows = model.objects.order_by("pk").iterator(chunk_size=200)
            for pack in rows:
                checked += 1
                actual = checksum(pack.content_json)
                if actual != pack.checksum:
                    owner = pack.domain if model is DomainPack else pack.tenant_id
                    mismatches.append(
                        f"{model._meta.db_table} id={pack.pk} {owner} {pack.version}: "
                        f"stored {pack.checksum}, content hashes to {actual}"
                    )
        for line in mismatches:
            self.stderr.write(line)
        if mismatches:
            raise CommandError(f"{len(mismatches)} of {checked} pack(s) fail their checksum")
        self.stdout.write(f"{checked} pack(s) verified: every checksum matches")
