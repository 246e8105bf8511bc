from django.dispatch import Signal

# Every signal carries `event: onboarding.events.DomainEvent`.
tenant_created = Signal()
tenant_status_changed = Signal()
tenant_policy_changed = Signal()
platform_settings_changed = Signal()
