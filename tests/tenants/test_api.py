"""HTTP behaviour of the tenant endpoints beyond the RBAC matrix and the bad-input tables."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from runtime_config.models import TenantActiveConfig
from tenants.models import Tenant
from tests.api.conftest import assert_problem, send, store_domain_pack
from tests.conftest import make_tenant


def test_tenant_create__valid__201_with_actor(admin):
    response = send(
        admin.client,
        "POST",
        reverse("tenant-list"),
        {"tenant_id": "ACME_1", "name": " Acme ", "require_activation_approval": True},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["tenant_id"] == "ACME_1" and body["name"] == "Acme"
    assert body["status"] == "ACTIVE" and body["require_activation_approval"] is True
    assert body["created_by"] == admin.username
    assert Tenant.objects.filter(tenant_id="ACME_1").exists()


def test_tenant_list__filters_search_and_tenant_bound_scope(admin, owner, tenant_b):
    make_tenant("ZED", "Zebra Corp")
    Tenant.objects.filter(tenant_id="ZED").update(status="SUSPENDED")
    listing = admin.client.get(reverse("tenant-list")).json()
    assert [row["tenant_id"] for row in listing["results"]] == ["TENANT_A", "TENANT_B", "ZED"]
    suspended = admin.client.get(reverse("tenant-list") + "?status=SUSPENDED").json()
    assert [row["tenant_id"] for row in suspended["results"]] == ["ZED"]
    found = admin.client.get(reverse("tenant-list") + "?search=zebra").json()
    assert found["count"] == 1
    own = owner.client.get(reverse("tenant-list")).json()
    assert [row["tenant_id"] for row in own["results"]] == ["TENANT_A"]
    narrowed = admin.client.get(reverse("tenant-list"), HTTP_X_TENANT_ID="TENANT_B").json()
    assert [row["tenant_id"] for row in narrowed["results"]] == ["TENANT_B"]
    assert_problem(admin.client.get(reverse("tenant-list") + "?status=X"), 400, "invalid_filter")


def test_tenant_list__query_count__independent_of_size(admin):
    for n in range(3):
        make_tenant(f"T{n:02d}")

    def count(size):
        with CaptureQueriesContext(connection) as captured:
            admin.client.get(reverse("tenant-list") + f"?page_size={size}")
        return len(captured)

    count(1)  # the token's first use records its last_used_at (once a minute, issue 21)
    small = count(1)
    for n in range(3, 40):
        make_tenant(f"T{n:02d}")
    assert count(1) == small == count(200)


def test_tenant_detail__active_config__versions_or_null(admin, tenant_a, finance_domain):
    url = reverse("tenant-detail", args=["TENANT_A"])
    assert admin.client.get(url).json()["active_config"] is None
    pack = store_domain_pack(finance_domain, "v3.2")
    TenantActiveConfig.objects.create(
        tenant=tenant_a,
        domain=pack.domain,
        domain_pack=pack,
        activated_at=timezone.now(),
        activated_by="someone",
        revision=4,
    )
    config = admin.client.get(url).json()["active_config"]
    assert config["active_domain_pack_version"] == "v3.2"
    assert config["active_tenant_pack_version"] is None
    assert config["revision"] == 4 and config["activated_by"] == "someone"


def test_tenant_patch__name_and_policy__updated(admin, tenant_a):
    url = reverse("tenant-detail", args=["TENANT_A"])
    response = send(
        admin.client, "PATCH", url, {"name": "New name", "require_activation_approval": False}
    )
    assert response.status_code == 200
    tenant = Tenant.objects.get(tenant_id="TENANT_A")
    assert tenant.name == "New name" and tenant.require_activation_approval is False
    back = send(admin.client, "PATCH", url, {"require_activation_approval": None})
    assert back.json()["require_activation_approval"] is None


def test_tenant_patch__tenant_admin_changes_policy__403_and_nothing_written(owner):
    url = reverse("tenant-detail", args=["TENANT_A"])
    response = send(
        owner.client, "PATCH", url, {"name": "New name", "require_activation_approval": False}
    )
    assert_problem(response, 403, "platform_admin_required")
    tenant = Tenant.objects.get(tenant_id="TENANT_A")
    assert tenant.name == "Tenant A" and tenant.require_activation_approval is None


def test_tenant_patch__tenant_admin_renames__200(owner):
    url = reverse("tenant-detail", args=["TENANT_A"])
    assert send(owner.client, "PATCH", url, {"name": "Renamed"}).status_code == 200
    assert Tenant.objects.get(tenant_id="TENANT_A").name == "Renamed"


def test_tenant_status__suspend_and_resume__200(admin, tenant_a):
    url = reverse("tenant-status", args=["TENANT_A"])
    response = send(admin.client, "PATCH", url, {"status": "SUSPENDED", "reason": "audit"})
    assert response.status_code == 200 and response.json()["status"] == "SUSPENDED"
    assert send(admin.client, "PATCH", url, {"status": "ACTIVE"}).json()["status"] == "ACTIVE"


def test_tenant_detail__member_viewer__reads_but_cannot_write(member):
    url = reverse("tenant-detail", args=["TENANT_A"])
    assert member.client.get(url).status_code == 200
    assert_problem(send(member.client, "PATCH", url, {"name": "x"}), 403, "admin_required")


def test_tenant_detail__unknown_or_nul__404(admin):
    assert_problem(admin.client.get("/admin/tenants/NOPE"), 404, "tenant_not_found")
    assert_problem(admin.client.get("/admin/tenants/a%00b"), 404, "not_found")


def test_tenant_patch__session_with_csrf_token__200(admin, tenant_a):
    from django.middleware.csrf import get_token
    from django.test import RequestFactory
    from rest_framework.test import APIClient

    request = RequestFactory().get("/")
    token = get_token(request)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(admin.user)
    client.cookies["csrftoken"] = request.META["CSRF_COOKIE"]
    url = reverse("tenant-detail", args=["TENANT_A"])
    response = send(client, "PATCH", url, {"name": "Via session"}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200, response.content
    assert Tenant.objects.get(tenant_id="TENANT_A").name == "Via session"


def test_tenant_create__approval_off_while_required_globally__409_nothing_written(admin):
    from audit.models import AuditEvent
    from tenants.models import PlatformSettings

    PlatformSettings.objects.update_or_create(pk=1, defaults={"require_activation_approval": True})
    audit_rows = AuditEvent.objects.count()

    response = send(
        admin.client,
        "POST",
        reverse("tenant-list"),
        {"tenant_id": "ACME_1", "name": "Acme", "require_activation_approval": False},
    )

    body = assert_problem(response, 409, "approval_change_needs_review")
    assert body["errors"][0]["path"] == "/require_activation_approval"
    assert not Tenant.objects.filter(tenant_id="ACME_1").exists()
    assert AuditEvent.objects.count() == audit_rows


def test_tenant_create__approval_off_while_not_required_globally__201(admin):
    response = send(
        admin.client,
        "POST",
        reverse("tenant-list"),
        {"tenant_id": "ACME_1", "name": "Acme", "require_activation_approval": False},
    )

    assert response.status_code == 201
    assert response.json()["require_activation_approval"] is False
