"""Every state change of packs. Each function owns its transaction and sends its signal.

Mapping to the specification's repository operations: create_domain_pack → domain_pack_create,
create_tenant_pack → tenant_pack_create, update_pack_status → pack_set_status (reads live in
packs.selectors).

Modules, each importing only those listed before it:

- `store`: one immutable pack version stored (`domain_pack_create`, `tenant_pack_create`), and
  how a pack is named in messages (`pack_label`).
- `statuses`: the lifecycle (`pack_set_status`) and its `pack.status_changed` event; the apps
  above may refuse a move through `packs.hooks.pack_status_changing`.
- `refusals`: every refused import recorded as a `pack.import_rejected` row.
- `imports`: import and validation (`domain_pack_import`, `tenant_pack_import`,
  `pack_validate`).
- `links`: playbook links (`playbook_link_create`, `playbook_link_delete`).

Callers import from this package; the names below are its public API."""

from packs.services.imports import (
    DUPLICATE_CONTENT,
    ImportResult,
    domain_pack_import,
    pack_validate,
    tenant_pack_import,
)
from packs.services.links import playbook_link_create, playbook_link_delete
from packs.services.refusals import pack_import_refusal_record
from packs.services.statuses import pack_set_status, send_pack_status_changed
from packs.services.store import (
    domain_pack_create,
    pack_label,
    tenant_pack_create,
    version_exists,
)

__all__ = [
    "DUPLICATE_CONTENT",
    "ImportResult",
    "domain_pack_create",
    "domain_pack_import",
    "pack_import_refusal_record",
    "pack_label",
    "pack_set_status",
    "pack_validate",
    "playbook_link_create",
    "playbook_link_delete",
    "send_pack_status_changed",
    "tenant_pack_create",
    "tenant_pack_import",
    "version_exists",
]
