from django.dispatch import Signal

# Every signal carries `event: onboarding.events.DomainEvent`; one per rollout state change, its
# action `rollout.<what>` (created, started, wave_applied, canary_started, canary_promoted,
# paused, resumed, advanced, halted, rolled_back, completed, cancelled, alarm).
rollout_changed = Signal()
