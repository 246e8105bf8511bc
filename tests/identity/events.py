"""Every user, role and token event through the real services, for the webhook catalogue test
(tests/webhooks/test_delivery.py)."""

from identity.services import (
    role_grant,
    role_revoke,
    token_create,
    token_revoke,
    user_create,
    user_update,
)
from onboarding.principal import Principal
from tenants.services import tenant_create

ACTOR = Principal.system("people-admin")


def every_identity_event() -> None:
    tenant_create(principal=ACTOR, tenant_id="PEOPLE_T1", name="People")
    user_create(actor=ACTOR, username="ingest-bot", service_account=True)
    user_update(actor=ACTOR, username="ingest-bot", display_name="Ingest bot")
    grant = role_grant(actor=ACTOR, username="ingest-bot", role="VIEWER", tenant_id="PEOPLE_T1")
    token, _secret = token_create(
        actor=ACTOR, name="ingest", scope="runtime", tenant_ids=["PEOPLE_T1"], username="ingest-bot"
    )
    token_revoke(actor=ACTOR, token_id=token.pk)
    role_revoke(actor=ACTOR, username="ingest-bot", binding_id=grant.binding.pk)
    user_update(actor=ACTOR, username="ingest-bot", is_active=False)
