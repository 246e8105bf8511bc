"""Questions identity asks the apps above it (docs/architecture.md, "Hooks and signals across
layers"). Governance answers both in its AppConfig.ready."""

from django.dispatch import Signal

from onboarding.hooks import Hook

# Granting ADMIN while four-eyes applies to the scope is a change request (`kind: access`,
# DESIGN §15). Called inside the grant's transaction as
# `admin_grant_review(principal=, user=, role=, tenant=)`; the answer is the change request filed,
# or None when no review applies (then the grant applies at once). Without governance installed
# nothing reviews a grant.
admin_grant_review = Hook("identity.admin_grant_review", default=lambda **kwargs: None)

# A user was deactivated, inside that transaction: `requester_gone.send(sender=, username=,
# actor=)`. Governance ends the user's PENDING and SCHEDULED change requests STALE
# (`requester_gone`).
requester_gone = Signal()
