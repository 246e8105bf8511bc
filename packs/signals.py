from django.dispatch import Signal

# Every signal carries `event: onboarding.events.DomainEvent`.
pack_imported = Signal()
pack_import_rejected = Signal()
pack_status_changed = Signal()
playbook_linked = Signal()
playbook_unlinked = Signal()
