from django.dispatch import Signal

# Every signal carries `event: onboarding.events.DomainEvent`. The signals of change requests are
# governance's (governance/signals.py).
config_activated = Signal()
