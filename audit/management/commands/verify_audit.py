"""Walk the audit hash chain in id order; exit 1 naming the first broken row.

Every row's HMAC is recomputed with the key its `key_id` names (AUDIT_HMAC_KEY or one of
AUDIT_HMAC_OLD_KEYS). Plain SHA-256 rows from before the chain was keyed are accepted only as a
prefix sealed by the keyed `audit.chain_keyed` row. `--expect-head HASH` also checks that the
chain ends at, or passes through, a head noted down elsewhere: a trail cut short behind that
head, or rebuilt from scratch, no longer contains it."""

import re
from contextlib import closing

from django.core.management.base import BaseCommand, CommandError

from audit.models import GENESIS_HASH, AuditEvent
from audit.services import CHAIN_KEYED_ACTION, ChainHasher, UnknownAuditKey, streaming_read

CHUNK = 2000
_HASH = re.compile(r"[0-9a-f]{64}")


class Command(BaseCommand):
    help = (
        "Verify the audit trail's keyed hash chain (exit 0 intact, 1 broken or the expected "
        "head missing, 2 a row signed with a key that is not configured)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--expect-head",
            metavar="HASH",
            help="a head printed by an earlier run and kept outside the database: the chain "
            "must end at it or pass through it",
        )

    def handle(self, *args, expect_head: str | None = None, **options):
        if expect_head is not None and not _HASH.fullmatch(expect_head):
            raise CommandError("--expect-head takes the 64 hex digits of a head", returncode=2)
        walk = _Walk(ChainHasher(), expect_head)
        rows = AuditEvent.objects.order_by("id").iterator(chunk_size=CHUNK)
        with streaming_read(), closing(rows):
            for row in rows:
                walk.step(row)
        walk.finish()
        self.stdout.write(walk.summary())


class _Walk:
    def __init__(self, hasher: ChainHasher, expect_head: str | None):
        self.hasher = hasher
        self.expect_head = expect_head
        self.head = GENESIS_HASH
        self.count = 0
        self.plain = 0
        self.sealed_at: int | None = None
        self.keyed = False
        self.head_found_at: int | None = None

    def step(self, row: AuditEvent) -> None:
        if row.prev_hash != self.head:
            self._broken(
                row,
                f"prev_hash {row.prev_hash} does not match the previous row's hash {self.head} "
                "(a row was removed, inserted or reordered)",
            )
        if not row.key_id:
            if self.keyed:
                self._broken(row, "a plain SHA-256 row after the chain was keyed")
            self.plain += 1
        elif not self.keyed:
            if self.plain and row.action != CHAIN_KEYED_ACTION:
                self._broken(row, "plain SHA-256 rows must be sealed by an audit.chain_keyed row")
            self.keyed = True
            self.sealed_at = row.pk if self.plain else None
        try:
            actual = self.hasher.hash(row)
        except UnknownAuditKey:
            raise CommandError(
                f"audit row id={row.pk} is signed with key id {row.key_id}, which is neither "
                "AUDIT_HMAC_KEY nor one of AUDIT_HMAC_OLD_KEYS: configure that key to verify",
                returncode=2,
            ) from None
        if actual != row.hash:
            self._broken(row, f"hash {row.hash} does not match the row's content")
        self.head = row.hash
        self.count += 1
        if row.hash == self.expect_head:
            self.head_found_at = self.count

    def finish(self) -> None:
        if self.plain and not self.keyed:
            raise CommandError(
                f"audit chain not keyed: {self.plain} plain SHA-256 rows and no audit.chain_keyed "
                "row sealing them (the chain may have been rebuilt without the key)",
                returncode=1,
            )
        if self.expect_head is not None and self.head_found_at is None:
            raise CommandError(
                f"audit chain does not contain the expected head {self.expect_head}: rows were "
                f"removed from its end or it was rewritten (current head {self.head})",
                returncode=1,
            )

    def summary(self) -> str:
        # The head lets an operator anchor the chain elsewhere (--expect-head next time): rows cut
        # off the end of the trail leave an intact but shorter chain without that head.
        text = f"audit chain intact: {self.count} events verified, head {self.head}"
        if self.plain:
            text += f" ({self.plain} plain SHA-256 rows sealed by row id={self.sealed_at})"
        if self.head_found_at is not None:
            after = self.count - self.head_found_at
            text += f"; expected head found, {after} events after it"
        return text

    def _broken(self, row: AuditEvent, problem: str) -> None:
        raise CommandError(
            f"audit chain broken at row id={row.pk} (position {self.count + 1}): {problem}",
            returncode=1,
        )
