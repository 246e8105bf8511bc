"""The outbox receiver, connected to every signal the audit trail records: it runs in the
sender's transaction right beside the audit receiver, so a webhook event exists exactly when its
change and its audit row committed. Sent with `send`: an outbox write that fails rolls the change
back, like an audit row that fails."""

from audit.receivers import AUDITED_SIGNALS, audit_signals
from webhooks import signals
from webhooks.services import outbox_record

# Changes of subscriptions are audited like every other change (audit sits below webhooks and
# does not import it).
audit_signals(
    {
        "webhooks.webhook_created": signals.webhook_created,
        "webhooks.webhook_updated": signals.webhook_updated,
        "webhooks.webhook_deleted": signals.webhook_deleted,
        "webhooks.webhook_redelivered": signals.webhook_redelivered,
    }
)


def record_outbox_event(sender, event=None, **kwargs) -> None:
    outbox_record(event)


for _name, _signal in AUDITED_SIGNALS.items():
    _signal.connect(record_outbox_event, dispatch_uid=f"webhooks.{_name}", weak=False)
