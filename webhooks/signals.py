from django.dispatch import Signal

# Every signal carries `event: onboarding.events.DomainEvent`.
webhook_created = Signal()
webhook_updated = Signal()
webhook_deleted = Signal()
webhook_redelivered = Signal()
