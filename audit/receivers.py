"""One receiver for every domain signal: each event becomes one audit row, written in the
sender's transaction. A receiver error propagates to the sender (signals are sent with `send`,
not `send_robust`), so a change whose audit row cannot be written rolls back.

The apps below audit are listed here; an app above it (webhooks) hands its own signals to
`audit_signals` from its AppConfig.ready."""

from audit.services import audit_append
from governance import signals as governance_signals
from identity import signals as identity_signals
from impact import signals as impact_signals
from packs import signals as pack_signals
from rollouts import signals as rollout_signals
from runtime_config import signals as config_signals
from sso import signals as sso_signals
from tenants import signals as tenant_signals

AUDITED_SIGNALS = {
    "tenants.tenant_created": tenant_signals.tenant_created,
    "tenants.tenant_status_changed": tenant_signals.tenant_status_changed,
    "tenants.tenant_policy_changed": tenant_signals.tenant_policy_changed,
    "tenants.platform_settings_changed": tenant_signals.platform_settings_changed,
    "packs.pack_imported": pack_signals.pack_imported,
    "packs.pack_import_rejected": pack_signals.pack_import_rejected,
    "packs.pack_status_changed": pack_signals.pack_status_changed,
    "packs.playbook_linked": pack_signals.playbook_linked,
    "packs.playbook_unlinked": pack_signals.playbook_unlinked,
    "runtime_config.config_activated": config_signals.config_activated,
    "governance.config_activation_requested": governance_signals.config_activation_requested,
    "governance.change_request_approved": governance_signals.change_request_approved,
    "governance.change_request_rejected": governance_signals.change_request_rejected,
    "governance.change_request_cancelled": governance_signals.change_request_cancelled,
    "governance.change_request_stale": governance_signals.change_request_stale,
    "governance.change_request_scheduled": governance_signals.change_request_scheduled,
    "governance.change_request_applied": governance_signals.change_request_applied,
    "impact.sample_set_replaced": impact_signals.sample_set_replaced,
    "governance.change_request_review_refused": governance_signals.change_request_review_refused,
    # Sign-ins through SSO (the users and roles they create or change are identity's events).
    "sso.sso_logged_in": sso_signals.sso_logged_in,
    "sso.login_locked": sso_signals.login_locked,
    "identity.user_created": identity_signals.user_created,
    "identity.user_updated": identity_signals.user_updated,
    "identity.user_deactivated": identity_signals.user_deactivated,
    "identity.role_granted": identity_signals.role_granted,
    "identity.role_revoked": identity_signals.role_revoked,
    "identity.token_created": identity_signals.token_created,
    "identity.token_revoked": identity_signals.token_revoked,
    "rollouts.rollout_changed": rollout_signals.rollout_changed,
}


def record_event(sender, event=None, **kwargs) -> None:
    audit_append(event)


def audit_signals(signals: dict) -> None:
    """Record every event of `signals` ({dispatch name: Signal}) from now on."""
    for name, signal in signals.items():
        AUDITED_SIGNALS[name] = signal
        signal.connect(record_event, dispatch_uid=f"audit.{name}", weak=False)


audit_signals(dict(AUDITED_SIGNALS))
