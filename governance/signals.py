from django.dispatch import Signal

# Every signal carries `event: onboarding.events.DomainEvent`.
config_activation_requested = Signal()
change_request_approved = Signal()
change_request_rejected = Signal()
change_request_cancelled = Signal()
change_request_stale = Signal()
change_request_scheduled = Signal()
change_request_applied = Signal()
# A refused approve/reject/cancel: its audit row is written in a transaction of its own.
change_request_review_refused = Signal()
