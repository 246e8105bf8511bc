from django.dispatch import Signal

# Carries `event: onboarding.events.DomainEvent`; the audit trail records it (audit.receivers).
# The users and roles a sign-in creates or changes are identity's events (sso.provisioning).
sso_logged_in = Signal()
# A password sign-in locked out by the login rate limit (`login.locked`): recorded once per
# locked window and bucket, not once per refused attempt.
login_locked = Signal()
