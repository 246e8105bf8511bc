from django.dispatch import Signal

# Every signal carries `event: onboarding.events.DomainEvent` (audited, published as webhooks).
user_created = Signal()
user_updated = Signal()
user_deactivated = Signal()
role_granted = Signal()
role_revoked = Signal()
token_created = Signal()
token_revoked = Signal()
