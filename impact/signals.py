from django.dispatch import Signal

# Every signal carries `event: onboarding.events.DomainEvent`.
sample_set_replaced = Signal()
