"""What packs asks of the apps above it (docs/architecture.md, "Hooks and signals across
layers"). packs stores and judges packs; which tenant runs which pack is runtime_config's
knowledge, and which change request names one is governance's. packs imports neither: it asks.

- `active_config(tenant_id=, lock=False, content=True)`: the tenant's active configuration, an
  object with `domain`, `domain_pack` and `tenant_pack`, or None. `lock` takes its row FOR
  UPDATE (the lock an activation takes first); `content=False` leaves the packs' content unread.
  Answered by runtime_config.
- `tenants_running(principal=, pack_type=, pack_ids=)`: {pack id: [ids of the tenants, visible
  to the principal, that run it now]}, in one query for a page of packs. Answered by
  runtime_config.
- `pack_status_changing` (a Signal, sender: the pack's model): sent by `pack_set_status` inside
  its transaction, with the pack row locked, before the new status is saved (`pack`, `before`,
  `after`). A receiver refuses the change by raising: runtime_config refuses to deprecate a pack
  a tenant runs (409 `pack_in_use`), governance one that a waiting change request names (409
  `pack_pending_approval`). Receivers run in INSTALLED_APPS order, so `pack_in_use` is reported
  first.

Unanswered (packs without the apps above it), no tenant runs any pack."""

from django.dispatch import Signal

from onboarding.hooks import Hook

active_config = Hook("packs.active_config", default=lambda **kwargs: None)
tenants_running = Hook("packs.tenants_running", default=lambda **kwargs: {})
pack_status_changing = Signal()
