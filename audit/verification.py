"""Walking the audit chain (`verify_audit`), from the newest valid signed checkpoint or, with
`full`, from the first row.

Rows are fetched as tuples in id order through a server-side cursor, `details` as text parsed by
orjson: no model instance per row (issue 26: the walk was Python-bound at ~21 s per million)."""

import itertools
import json
import queue
import threading
from collections.abc import Iterator
from contextlib import closing, suppress
from dataclasses import dataclass, field

import orjson
from django.db import connection
from django.db.models import F, TextField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast

from audit.checkpoints import checkpoint_is_valid, newest_checkpoints
from audit.models import GENESIS_HASH, AuditCheckpoint, AuditEvent
from audit.services import (
    CHAIN_KEYED_ACTION,
    HASHED_FIELDS,
    ChainHasher,
    UnknownAuditKey,
    iso_utc,
    streaming_read,
)
from packs.canonical import canonical_json, may_hold_integral_float

CHUNK = 5000
FIRST_CHUNK = 500
# `details` as text: orjson parses it faster than the driver's json.loads. On PostgreSQL the
# time comes as the very text `iso_utc` writes (parsing a timestamp and printing it back was a
# third of the walk's time).
_RENAMED = {"details": "details_text", "occurred_at": "occurred_at_text"}
# The order `Walk.step` unpacks a row in (checked here: HASHED_FIELDS is the hash's contract).
_STEP_ORDER = (
    "occurred_at", "actor", "action", "tenant_id", "object_type", "object_id", "domain",
    "version", "checksum", "summary", "details", "request_id", "prev_hash",
)  # fmt: skip
if HASHED_FIELDS != _STEP_ORDER:
    raise ImportError("audit.verification unpacks rows in an order HASHED_FIELDS no longer has")
_FETCHED = tuple(_RENAMED.get(name, name) for name in ("id", *HASHED_FIELDS, "hash", "key_id"))
_ISO_UTC = "to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"


class ChainBroken(Exception):
    pass


class KeyMissing(Exception):
    """A row is signed with a key that is not configured (exit 2: configure it to verify)."""


@dataclass
class Walk:
    hasher: ChainHasher
    expect_head: str | None = None
    head: str = GENESIS_HASH
    count: int = 0
    plain: int = 0
    sealed_at: int | None = None
    keyed: bool = False
    head_found_at: int | None = None
    last_id: int = 0
    start: AuditCheckpoint | None = None
    refused: list[AuditCheckpoint] = field(default_factory=list)

    def run(self, *, full: bool) -> None:
        if not full:
            self._start_from_checkpoint()
        for row in _rows(after=self.last_id):
            self.step(row)
        self.finish()

    def _start_from_checkpoint(self) -> None:
        for checkpoint in newest_checkpoints():
            if not checkpoint_is_valid(checkpoint):
                self.refused.append(checkpoint)
                continue
            stored = (
                AuditEvent.objects.filter(pk=checkpoint.event_id)
                .values_list("hash", flat=True)
                .first()
            )
            if stored != checkpoint.event_hash:
                raise ChainBroken(
                    f"audit row id={checkpoint.event_id} no longer has the hash checkpoint "
                    f"id={checkpoint.pk} signed ({checkpoint.event_hash}): the row was changed "
                    "or removed"
                )
            # The checkpoint vouches for every row up to it: a keyed, intact chain.
            self.start, self.head, self.last_id = checkpoint, stored, checkpoint.event_id
            self.keyed = True
            return

    def step(self, row: tuple) -> None:
        (
            pk, occurred_at, actor, action, tenant_id, object_type, object_id, domain, version,
            checksum, summary, details, request_id, prev_hash, row_hash, key_id,
        ) = row  # fmt: skip
        content = {
            "occurred_at": occurred_at if type(occurred_at) is str else iso_utc(occurred_at),
            "actor": actor,
            "action": action,
            "tenant_id": tenant_id,
            "object_type": object_type,
            "object_id": object_id,
            "domain": domain,
            "version": version,
            "checksum": checksum,
            "summary": summary,
            "details": _details_json(_details(details)),
            "request_id": request_id,
            "prev_hash": prev_hash,
        }
        if prev_hash != self.head:
            self._broken(
                pk,
                f"prev_hash {prev_hash} does not match the previous row's hash "
                f"{self.head} (a row was removed, inserted or reordered)",
            )
        if not key_id:
            if self.keyed:
                self._broken(pk, "a plain SHA-256 row after the chain was keyed")
            self.plain += 1
        elif not self.keyed:
            if self.plain and action != CHAIN_KEYED_ACTION:
                self._broken(pk, "plain SHA-256 rows must be sealed by an audit.chain_keyed row")
            self.keyed = True
            self.sealed_at = pk if self.plain else None
        try:
            if key_id:
                content["key_id"] = key_id
            data = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
            actual = self.hasher.hash_canonical(prev_hash, data, key_id)
        except UnknownAuditKey:
            raise KeyMissing(
                f"audit row id={pk} is signed with key id {key_id}, which is neither "
                "AUDIT_HMAC_KEY nor one of AUDIT_HMAC_OLD_KEYS: configure that key to verify"
            ) from None
        if actual != row_hash:
            self._broken(pk, f"hash {row_hash} does not match the row's content")
        self.head = row_hash
        self.last_id = pk
        self.count += 1
        if row_hash == self.expect_head:
            self.head_found_at = self.count

    def finish(self) -> None:
        if self.plain and not self.keyed:
            raise ChainBroken(
                f"audit chain not keyed: {self.plain} plain SHA-256 rows and no audit.chain_keyed "
                "row sealing them (the chain may have been rebuilt without the key)"
            )
        if self.expect_head is not None and self.head_found_at is None:
            before = self.start is not None and (
                AuditEvent.objects.filter(hash=self.expect_head, pk__lte=self.start.event_id)
                .values_list("pk", flat=True)
                .first()
            )
            if not before:
                raise ChainBroken(
                    f"audit chain does not contain the expected head {self.expect_head}: rows "
                    f"were removed from its end or it was rewritten (current head {self.head})"
                )
            self.head_found_at = 0

    def summary(self) -> str:
        # The head lets an operator anchor the chain elsewhere (--expect-head next time): rows cut
        # off the end of the trail leave an intact but shorter chain without that head.
        text = f"audit chain intact: {self.count} events verified, head {self.head}"
        if self.start is not None:
            text += (
                f" (from checkpoint id={self.start.pk} at row id={self.start.event_id}; "
                "--full walks every row)"
            )
        if self.plain:
            text += f" ({self.plain} plain SHA-256 rows sealed by row id={self.sealed_at})"
        if self.head_found_at == 0:
            text += "; expected head found before the checkpoint"
        elif self.head_found_at is not None:
            after = self.count - self.head_found_at
            text += f"; expected head found, {after} events after it"
        return text

    def _broken(self, pk: int, problem: str) -> None:
        raise ChainBroken(
            f"audit chain broken at row id={pk} (position {self.count + 1}): {problem}"
        )


def _rows(*, after: int, limit: int | None = None) -> Iterator[tuple]:
    """The rows after id `after` (the first `limit` of them), in id order. On PostgreSQL through
    a server-side cursor read by a second thread on the same connection, a few chunks ahead: the
    server formats the next chunk (a third of the walk's time) while this thread hashes the
    current one. (Reading ahead on a second connection was tried before and was no faster; this
    reader shares the connection and its transaction.)"""
    if connection.vendor != "postgresql":
        rows = _query(after)[:limit].iterator(chunk_size=CHUNK)
        with closing(rows):
            yield from rows
        return
    with streaming_read():
        connection.ensure_connection()
        sql, params = _query(after)[:limit].query.sql_with_params()
        reader = _ChunkReader(connection.connection, sql, params)
        try:
            while chunk := reader.next_chunk():
                yield from chunk
        finally:
            reader.stop()


class _ChunkReader:
    """Fetches CHUNK rows at a time from a server-side cursor in a thread of its own. The caller
    owns the connection meanwhile: nothing else may use it until `stop()` returns."""

    AHEAD = 2  # chunks waiting: enough to cover the database's pauses, little memory

    def __init__(self, raw_connection, sql: str, params):
        self._chunks: queue.Queue = queue.Queue(maxsize=self.AHEAD)
        self._stopping = threading.Event()
        name = f"audit_walk_{next(_cursor_numbers)}"
        self._cursor = raw_connection.cursor(name=name)
        self._thread = threading.Thread(
            target=self._read, args=(sql, params), name=name, daemon=True
        )
        self._thread.start()

    def _read(self, sql: str, params) -> None:
        try:
            self._cursor.execute(sql, params)
            size = FIRST_CHUNK  # small, so that hashing starts early
            while not self._stopping.is_set():
                chunk = self._cursor.fetchmany(size)
                size = CHUNK
                self._chunks.put(chunk)
                if not chunk:
                    return
        except BaseException as exc:  # handed to the walking thread, which raises it
            self._chunks.put(exc)

    def next_chunk(self) -> list[tuple]:
        chunk = self._chunks.get()
        if isinstance(chunk, BaseException):
            raise chunk
        return chunk

    def stop(self) -> None:
        """Ends the reader (also when the walk stops early, on a broken row) and closes the
        cursor; the queue is emptied so that the reader is never left blocked on a full one."""
        self._stopping.set()
        while self._thread.is_alive():
            with suppress(queue.Empty):
                self._chunks.get(timeout=0.05)
        self._thread.join()
        self._cursor.close()


_cursor_numbers = itertools.count(1)


def _query(after: int):
    events = AuditEvent.objects.filter(pk__gt=after).order_by("id")
    if connection.vendor == "postgresql":
        occurred_at = RawSQL(_ISO_UTC, [], output_field=TextField())  # noqa: S611 (a constant)
    else:
        occurred_at = F("occurred_at")
    return events.annotate(
        details_text=Cast("details", TextField()), occurred_at_text=occurred_at
    ).values_list(*_FETCHED)


def _canonical(content: dict) -> bytes:
    """`canonical_json(content)` for a row's content with `details` parsed, as `Walk.step` makes
    it."""
    content = {**content, "details": _details_json(content["details"])}
    return orjson.dumps(content, option=orjson.OPT_SORT_KEYS)


def _details_json(details) -> orjson.Fragment:
    """`canonical_json` of a row's parsed `details`, to be placed as it is in the row's
    serialisation. Only `details` can hold a float (every other hashed column is text), so only
    its short serialisation is searched for integral floats, not the whole row's (that search was
    a third of a row's check). On text this short the patterns cost less than substring tests
    before them."""
    data = orjson.dumps(details, option=orjson.OPT_SORT_KEYS)
    if may_hold_integral_float(data):
        data = canonical_json(details)
    return orjson.Fragment(data)


def _details(text):
    if not isinstance(text, str):  # a backend that hands back the parsed value
        return text
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # what orjson refuses (NaN, huge integers) json reads
        return json.loads(text)
