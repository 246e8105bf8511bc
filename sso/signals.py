from django.dispatch import Signal

# Every signal carries `event: onboarding.events.DomainEvent`; the audit trail records each one
# (audit.receivers) and webhooks publish those in their catalogue.
sso_user_created = Signal()
sso_role_granted = Signal()
sso_role_revoked = Signal()
sso_logged_in = Signal()
