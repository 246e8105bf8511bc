"""Bulk import of pack files: thin wrapper over the import and activation services."""

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from governance.services import config_activate
from identity.commands import acting_from, command_actor
from onboarding.errors import ServiceError
from onboarding.intake import load_json_object
from packs.management.commands.export_packs import MANIFEST
from packs.services import (
    DUPLICATE_CONTENT,
    domain_pack_import,
    pack_import_refusal_record,
    tenant_pack_import,
)
from packs.versions import parse_version
from tenants.models import Tenant
from tenants.services import tenant_create


@dataclass
class Item:
    path: Path
    kind: str = "?"  # domain | tenant
    content: dict[str, Any] | None = None
    outcome: str = ""  # imported | unchanged | valid | rejected
    owner: str = ""  # domain name or tenant id
    version: str = ""
    detail: str = ""
    checked_against: str = ""
    error: ServiceError | None = None  # an intake refusal, recorded as a refused import
    notes: list[str] = field(default_factory=list)  # printed in full below the table
    # The domain pack version to validate a tenant pack against: --domain-version, else the
    # one export_packs recorded in its manifest, else the default of DESIGN §7.
    domain_version: str | None = None


class _RolledBack(Exception):
    """Ends the dry run's transaction: everything it wrote is rolled back."""


def collect(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*.json") if p.is_file() and p.name != MANIFEST)
            )
        elif path.is_file():
            found.append(path)
        else:
            raise CommandError(f"{raw}: no such file or directory", returncode=2)
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if not unique:
        raise CommandError("no *.json files found", returncode=2)
    return unique


def recorded_domain_versions(paths: list[str]) -> dict[Path, str]:
    """file → the domain pack version its tenant pack was validated against, from the manifest
    export_packs writes at the top of each folder it exports."""
    recorded: dict[Path, str] = {}
    for raw in paths:
        manifest = Path(raw) / MANIFEST
        if not manifest.is_file():
            continue
        try:
            entries = json.loads(manifest.read_text(encoding="utf-8")).get("packs") or []
        except (OSError, ValueError, AttributeError) as exc:
            raise CommandError(f"{manifest}: unreadable manifest: {exc}", returncode=2) from None
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            version, path = entry.get("validated_against_version"), entry.get("path")
            if isinstance(version, str) and version and isinstance(path, str):
                recorded[(manifest.parent / path).resolve()] = version
    return recorded


def version_from_name(path: Path) -> str | None:
    """`export_packs` names files after their version (v3.2.json): read it back from there."""
    try:
        parse_version(path.stem)
    except ServiceError:
        return None
    return path.stem


def first_error(exc: ServiceError) -> str:
    if exc.errors:
        item = exc.errors[0]
        return f"{item.get('code')} at {item.get('path') or '/'}: {item.get('message')}"
    return f"{exc.code}: {exc.detail}"


class Command(BaseCommand):
    help = (
        "Import domain and tenant pack files (files or folders, searched recursively for *.json). "
        "The pack type is detected (a tenantId key means a tenant pack); domain packs are imported "
        "before tenant packs; each file goes through the strict intake and validation. The version "
        "is the content's `version`, else the file name when it is a version (v3.2.json, as "
        "export_packs writes), else the next one. A tenant pack is validated against "
        "--domain-version, else the domain version export_packs recorded for it in the folder's "
        f"{MANIFEST}, else the tenant's active one, else the domain's newest. Identical content "
        "already stored under another version is imported with a duplicate_content warning. "
        "Every rejected file is a pack.import_rejected audit row (not with --dry-run). Re-running "
        "on the same files changes nothing. Exit status: 0 all imported or unchanged, 1 at least "
        "one pack rejected, 2 no files found."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", help="pack files or folders")
        parser.add_argument(
            "--tenant", help="tenant id for tenant packs (must match their tenantId if present)"
        )
        parser.add_argument(
            "--activate",
            action="store_true",
            help="activate each imported tenant pack (with the domain pack it was validated "
            "against) for its tenant, through the activation service and its approval policy",
        )
        parser.add_argument(
            "--domain-version",
            help="validate (and with --activate, activate) tenant packs against this domain "
            "pack version",
        )
        parser.add_argument("--dry-run", action="store_true", help="validate only; write nothing")
        parser.add_argument(
            "--actor",
            required=True,
            help="the username of the person running this: an active user with platform ADMIN "
            "(with --tenant, ADMIN of that tenant; any role for --dry-run)",
        )
        parser.add_argument(
            "--create-tenants",
            action="store_true",
            help="create tenants named by tenant packs' tenantId when missing",
        )

    def handle(
        self,
        *args,
        paths,
        tenant,
        activate,
        dry_run,
        actor,
        create_tenants,
        domain_version=None,
        **options,
    ):
        principal = command_actor(actor, tenant_id=tenant, write=not dry_run)
        with acting_from("import_packs"):
            self._import_all(
                principal, paths, tenant, activate, dry_run, create_tenants, domain_version
            )

    def _import_all(
        self, principal, paths, tenant, activate, dry_run, create_tenants, domain_version
    ):
        if domain_version is not None:
            try:
                parse_version(domain_version, "--domain-version")
            except ServiceError as exc:
                raise CommandError(first_error(exc), returncode=2) from None
        recorded = recorded_domain_versions(paths)
        items = [self._read(path, tenant) for path in collect(paths)]
        for item in items:
            if item.kind == "tenant":
                item.domain_version = domain_version or recorded.get(item.path)
        if not dry_run:
            for item in items:
                if item.outcome == "rejected":
                    self._record_unreadable(item, principal, tenant)
        items.sort(key=lambda item: (item.kind != "domain", str(item.path)))
        console = Console(file=self.stdout, width=140, force_terminal=None)
        self.rehearsal = dry_run  # "imported" reads "valid": nothing stays written
        if dry_run:
            # The dry run is the real run, rolled back: it agrees with it by construction (tenants
            # it would create, domain packs a tenant pack of the same folder is checked against,
            # the activation). Work outside the database runs on commit only, so none happens.
            try:
                with transaction.atomic():
                    self._write(items, principal, tenant, activate, create_tenants, console)
                    raise _RolledBack
            except _RolledBack:
                pass
            for item in items:
                if item.outcome == "imported":
                    item.outcome = "valid"
        else:
            self._write(items, principal, tenant, activate, create_tenants, console)
        self._summary(items, console, dry_run)
        rejected = sum(item.outcome == "rejected" for item in items)
        if rejected:
            raise CommandError(f"{rejected} pack(s) rejected", returncode=1)

    def _write(self, items, principal, tenant, activate, create_tenants, console) -> None:
        if create_tenants:
            self._create_tenants(items, principal)
        self._run(items, principal, activate, console)

    def _create_tenants(self, items: list[Item], principal) -> None:
        wanted = {item.owner for item in items if item.kind == "tenant" and item.owner}
        existing = set(Tenant.objects.filter(tenant_id__in=wanted).values_list("pk", flat=True))
        for tenant_id in sorted(wanted - existing):
            try:
                tenant_create(principal=principal, tenant_id=tenant_id, name=tenant_id)
            except ServiceError as exc:
                self.stderr.write(f"tenant {tenant_id}: {first_error(exc)}")

    def _read(self, path: Path, tenant: str | None) -> Item:
        item = Item(path=path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            item.outcome, item.detail = "rejected", f"unreadable: {exc}"
            return item
        try:
            item.content = load_json_object(raw)
        except ServiceError as exc:
            item.outcome, item.detail = "rejected", first_error(exc)
            # Best effort: the document could not be read, so guess its type from its text.
            item.kind = "tenant" if tenant or b'"tenantId"' in raw else "domain"
            item.error = exc
            return item
        is_tenant = "tenantId" in item.content
        item.kind = "tenant" if is_tenant else "domain"
        name = item.content.get("tenantId" if is_tenant else "domainName")
        item.owner = (tenant or name or "") if is_tenant else (name or "")
        item.owner = item.owner if isinstance(item.owner, str) else ""
        return item

    def _record_unreadable(self, item: Item, principal, tenant: str | None) -> None:
        if item.error is None:
            return
        pack_import_refusal_record(
            principal=principal,
            pack_type=item.kind,
            error=item.error,
            tenant_id=tenant,
            version=version_from_name(item.path),
        )

    def _run(self, items, principal, activate, console):
        pending = [item for item in items if not item.outcome]
        if sys.stdout.isatty() and self.stdout._out is sys.stdout:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=console,
            ) as progress:
                task = progress.add_task("importing", total=len(pending))
                for item in pending:
                    progress.update(task, description=f"importing {item.path.name}")
                    self._one(item, principal, activate)
                    progress.advance(task)
            return
        for index, item in enumerate(pending, start=1):
            self._one(item, principal, activate)
            outcome = "valid" if self.rehearsal and item.outcome == "imported" else item.outcome
            self.stdout.write(f"[{index}/{len(pending)}] {outcome:<9} {item.path}")

    def _one(self, item: Item, principal, activate) -> None:
        try:
            self._import(item, principal)
            if activate and item.kind == "tenant" and item.outcome != "rejected":
                self._activate(item, principal)
        except ServiceError as exc:
            item.outcome, item.detail = "rejected", first_error(exc)

    def _import(self, item: Item, principal) -> None:
        version = None if "version" in item.content else version_from_name(item.path)
        if item.kind == "domain":
            result = domain_pack_import(principal=principal, content=item.content, version=version)
        else:
            result = tenant_pack_import(
                principal=principal,
                tenant_id=item.owner,
                content=item.content,
                version=version,
                domain_pack_version=item.domain_version,
            )
        item.outcome = "imported" if result.created else "unchanged"
        item.version = result.pack.version
        warnings = result.report.get("warnings") or []
        item.detail = f"{len(warnings)} warning(s)" if warnings else ""
        duplicate = [w for w in warnings if w.get("code") == DUPLICATE_CONTENT]
        if duplicate:
            item.detail += f"; {DUPLICATE_CONTENT}"
            item.notes.append(f"{DUPLICATE_CONTENT}: {duplicate[0]['message']}")
        against = result.report.get("checked_against") or {}
        item.checked_against = against.get("version", "")

    def _activate(self, item: Item, principal) -> None:
        outcome = config_activate(
            principal=principal,
            tenant_id=item.owner,
            domain_pack_version=item.checked_against or None,
            tenant_pack_version=item.version,
            comment=f"import_packs {item.path.name}",
        )
        item.detail = (item.detail + "; " if item.detail else "") + f"activation {outcome.status}"

    def _summary(self, items, console: Console, dry_run: bool) -> None:
        table = Table(title="import_packs" + (" (dry run: nothing written)" if dry_run else ""))
        for column in ("file", "type", "domain / tenant", "version", "outcome", "detail"):
            table.add_column(column, overflow="fold")
        # A bulk run lists its rejected files only: a thousand-row table hides them.
        listed = (
            items if len(items) <= _MAX_LISTED else [i for i in items if i.outcome == "rejected"]
        )
        for item in listed:
            table.add_row(
                item.path.name, item.kind, item.owner, item.version, item.outcome, item.detail
            )
        if len(listed) < len(items):
            table.caption = f"{len(items) - len(listed)} accepted file(s) not listed"
        console.print(table)
        for item in items:
            for note in item.notes:
                self.stdout.write(f"{item.path.name}: {note}")
        counts = {name: sum(i.outcome == name for i in items) for name in _OUTCOMES}
        console.print(", ".join(f"{n} {name}" for name, n in counts.items() if n) or "nothing")


_OUTCOMES = ("imported", "unchanged", "valid", "rejected")
_MAX_LISTED = 100
