"""The home page `/` (issue 23, item 7): what needs the signed-in person, each with its link —
requests waiting for their review, their own open requests, failing or paused webhook endpoints,
tenants not converged, and rollouts running or halted (answered by rollouts through the kernel's
`attention_items` signal)."""

import re

import pytest
from django.utils import timezone

from governance.services import config_activate
from onboarding.attention import AttentionItem, attention_items, collect
from packs.models import DomainPack
from rollouts.models import Rollout
from runtime_config.models import RuntimeProcess, ServedConfig
from tenants.models import Tenant
from tenants.principals import Principal
from tests.ui.conftest import HTML, browser, seed_demo_packs
from webhooks.models import WebhookSubscription
from webhooks.services import webhook_create

DEMO = "TENANT_FINANCE_001"
DOMAIN = "CapitalMarketsTrading"
SETUP = Principal.system("setup")


def _needs_attention(admin, settings) -> dict:
    """DEMO runs v3.2 (r1), one process still serves r0; admin asked for v1.4 (pending); a
    webhook endpoint is paused; a rollout halted."""
    seed_demo_packs()
    config_activate(principal=SETUP, tenant_id=DEMO, domain=DOMAIN, domain_pack_version="v3.2")
    Tenant.objects.filter(pk=DEMO).update(require_activation_approval=True)
    pending = config_activate(
        principal=admin.principal, tenant_id=DEMO, tenant_pack_version="v1.4"
    ).change_request
    now = timezone.now()
    process = RuntimeProcess.objects.create(
        process_id="web-1", host="web", pid=11, started_at=now, seen_at=now
    )
    ServedConfig.objects.create(
        process=process, tenant_id=DEMO, revision=0, checksum="old", updated_at=now
    )
    settings.WEBHOOK_ALLOW_PRIVATE = True
    hook = webhook_create(
        principal=SETUP, url="http://127.0.0.1:9/hook", events=["pack.imported"]
    ).subscription
    # The breaker's state after five refused connections (webhooks.services.breaker).
    WebhookSubscription.objects.filter(pk=hook.pk).update(
        failure_streak=5, paused_at=now, pause_reason="connection refused"
    )
    rollout = Rollout.objects.create(
        domain=DOMAIN,
        domain_pack=DomainPack.objects.get(version="v3.2"),
        status="HALTED",
        bake_seconds=60,
        created_by=admin.username,
        acting_as=admin.username,
        status_reason="divergence guard tripped",
    )
    return {"pending": pending, "hook": hook, "rollout": rollout}


def _section(body: str, title: str) -> str:
    match = re.search(rf"<h2[^>]*>{re.escape(title)} .*?</section>", body, re.S)
    assert match, f"no section {title!r}"
    return match.group(0)


@pytest.mark.django_db
def test_home__reviewer__every_section_with_its_link(admin, second_admin, settings):
    state = _needs_attention(admin, settings)
    body = browser(second_admin).get("/", **HTML).content.decode()
    review = _section(body, "Waiting for your review")
    assert f'href="/admin/config-changes/{state["pending"].pk}"' in review
    assert f"requested by {admin.username}" in review
    assert "You have no open requests." in _section(body, "Your open requests")
    hooks = _section(body, "Webhook endpoints failing or paused")
    assert f'href="/admin/webhooks/{state["hook"].pk}"' in hooks and "connection refused" in hooks
    converged = _section(body, "Tenants not converged")
    assert f'href="/admin/tenants/{DEMO}#convergence"' in converged
    assert "1 of 1 processes still serve r0; revision 1 is active" in converged
    rollouts = _section(body, "Rollouts running or halted")
    assert f'href="/admin/rollouts/{state["rollout"].pk}"' in rollouts
    assert "halted · divergence guard tripped" in rollouts


@pytest.mark.django_db
def test_home__requester__own_request_not_offered_for_review(admin, settings):
    state = _needs_attention(admin, settings)
    body = browser(admin).get("/", **HTML).content.decode()
    assert "Nothing waits for your review." in _section(body, "Waiting for your review")
    own = _section(body, "Your open requests")
    assert f'href="/admin/config-changes/{state["pending"].pk}"' in own
    assert "waiting for a second ADMIN" in own


@pytest.mark.django_db
def test_home__viewer__no_webhook_section_nothing_of_other_tenants(viewer, owner, admin, settings):
    _needs_attention(admin, settings)
    body = browser(owner).get("/", **HTML).content.decode()  # ADMIN of TENANT_A only
    assert DEMO not in body
    assert "Rollouts running or halted" not in body
    viewer_body = browser(viewer).get("/", **HTML).content.decode()
    assert "Webhook endpoints failing or paused" not in viewer_body


def test_home__anonymous__login_and_api_client_406(client, admin, db):
    assert client.get("/", HTTP_ACCEPT="text/html")["Location"].startswith("/login")
    response = admin.client.get("/", HTTP_ACCEPT="application/json")
    assert response.status_code == 406


def test_attention__extension_point__items_of_a_receiver_are_collected(admin, db):
    item = AttentionItem(section="Extra", title="Look here", href="/admin/audit")

    def extra(sender, *, principal, **kwargs):
        return [item]

    attention_items.connect(extra, dispatch_uid="test.extra")
    try:
        assert item in collect(admin.principal)
        assert "Look here" in browser(admin).get("/", **HTML).content.decode()
    finally:
        attention_items.disconnect(dispatch_uid="test.extra")
