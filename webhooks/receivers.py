"""The outbox receiver, connected to every signal the audit trail records: it runs in the
sender's transaction right beside the audit receiver, so a webhook event exists exactly when its
change and its audit row committed. Sent with `send`: an outbox write that fails rolls the change
back, like an audit row that fails."""

from audit.receivers import AUDITED_SIGNALS
from webhooks.services import outbox_record


def record_outbox_event(sender, event=None, **kwargs) -> None:
    outbox_record(event)


for _name, _signal in AUDITED_SIGNALS.items():
    _signal.connect(record_outbox_event, dispatch_uid=f"webhooks.{_name}", weak=False)
