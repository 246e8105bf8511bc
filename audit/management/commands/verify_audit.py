"""Walk the audit hash chain in id order; exit 1 naming the first broken row.

By default the walk starts after the newest checkpoint whose HMAC signature is valid (a
checkpoint is written at the end of every intact walk), so its cost follows the rows added since.
`--full` walks every row, which also catches a row changed before the last checkpoint. A
checkpoint with a bad signature is refused: the walk starts from an older valid one and the
command exits 1.

Every row's HMAC is recomputed with the key its `key_id` names (AUDIT_HMAC_KEY or one of
AUDIT_HMAC_OLD_KEYS). Plain SHA-256 rows from before the chain was keyed are accepted only as a
prefix sealed by the keyed `audit.chain_keyed` row. `--expect-head HASH` also checks that the
chain ends at, or passes through, a head noted down elsewhere: a trail cut short behind that
head, or rebuilt from scratch, no longer contains it."""

import re

from django.core.management.base import BaseCommand, CommandError

from audit.checkpoints import audit_checkpoint_create
from audit.services import ChainHasher
from audit.verification import ChainBroken, KeyMissing, Walk

_HASH = re.compile(r"[0-9a-f]{64}")


class Command(BaseCommand):
    help = (
        "Verify the audit trail's keyed hash chain from the last signed checkpoint, or every "
        "row with --full (exit 0 intact, 1 broken, a forged checkpoint or the expected head "
        "missing, 2 a row signed with a key that is not configured)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--full",
            action="store_true",
            help="walk the whole chain, ignoring checkpoints (catches a row changed before one)",
        )
        parser.add_argument(
            "--expect-head",
            metavar="HASH",
            help="a head printed by an earlier run and kept outside the database: the chain "
            "must end at it or pass through it",
        )
        parser.add_argument(
            "--no-checkpoint",
            action="store_true",
            help="do not record a checkpoint at the end of an intact walk",
        )

    def handle(self, *args, full=False, expect_head=None, no_checkpoint=False, **options):
        if expect_head is not None and not _HASH.fullmatch(expect_head):
            raise CommandError("--expect-head takes the 64 hex digits of a head", returncode=2)
        walk = Walk(ChainHasher(), expect_head)
        try:
            walk.run(full=full)
        except KeyMissing as exc:
            raise CommandError(str(exc), returncode=2) from None
        except ChainBroken as exc:
            raise CommandError(str(exc), returncode=1) from None
        if walk.refused:
            ids = ", ".join(str(checkpoint.pk) for checkpoint in walk.refused)
            raise CommandError(
                f"audit checkpoint(s) id={ids} refused: the signature does not match (forged or "
                f"written with a key no longer configured); {walk.summary()}",
                returncode=1,
            )
        if walk.count and not no_checkpoint:
            audit_checkpoint_create(
                event_id=walk.last_id, event_hash=walk.head, rows_verified=walk.count
            )
        self.stdout.write(walk.summary())
