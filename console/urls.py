"""The root URLconf (ROOT_URLCONF): the project's pages and APIs, app by app, and the paths that
compose several apps (the tenant pages, /healthz)."""

from django.contrib import admin
from django.urls import include, path, re_path

from console import api, home, views
from onboarding import views as kernel_views
from onboarding.confirm import confirm_page
from onboarding.doors import page_only, two_doors
from onboarding.metrics_api import MetricsView
from onboarding.ui import page_view
from tenants import api as tenant_api

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    # Prometheus (docs/operability.md): a platform role's token or session.
    path("metrics", MetricsView.as_view(), name="metrics"),
    path("api/schema/", kernel_views.SchemaView.as_view(), name="schema"),
    path("api/docs/", kernel_views.SwaggerDocsView.as_view(url_name="schema"), name="swagger-ui"),
    path("django-admin/", admin.site.urls),
    # The runtime's paths first: they are the hot path, and resolution walks this list in order.
    path("", include("runtime_config.runtime_urls")),
    # Home: what needs the signed-in person (console/home.py); each item links to its page.
    path(
        "",
        page_only(page_view(home.home_page), api="the lists it links (/admin/config-changes, …)"),
        name="home",
    ),
    # Login and logout, by password and by SSO (sso/urls.py), and the OpenID callback.
    path("", include("sso.urls")),
    # The ConfirmDialog as a page, for browsers without JavaScript (onboarding/confirm.py).
    path(
        "confirm",
        page_only(page_view(confirm_page), api="the write's own path (POST/PATCH/DELETE)"),
        name="confirm",
    ),
    # Each app's urls.py declares its paths with onboarding.doors: `two_doors(api=..., page=...)`
    # where a browser gets a page and a REST client JSON, `page_only(...)` for pages alone.
    # The tenant pages show what several apps own (packs, the active configuration, requests,
    # audit events): their paths are declared here.
    path(
        "admin/tenants",
        two_doors(api=tenant_api.TenantListView.as_view(), page=views.tenant_list_page),
        name="tenant-list",
    ),
    path(
        "admin/tenants/<str:tenant_id>",
        two_doors(api=api.TenantDetailView.as_view(), page=views.tenant_detail_page),
        name="tenant-detail",
    ),
    path(
        "admin/tenants/<str:tenant_id>/status",
        two_doors(api=api.TenantStatusView.as_view(), page=views.tenant_status_page),
        name="tenant-status",
    ),
    path("", include("packs.urls")),
    path("", include("packs.playbook_urls")),
    path("", include("runtime_config.urls")),
    path("", include("governance.urls")),
    path("", include("rollouts.urls")),
    path("", include("audit.urls")),
    path("", include("webhooks.urls")),
    path("", include("identity.urls")),
    path("", include("impact.urls")),
    # Last: any other path is the styled 404 (page or problem+json), with DEBUG on too, where
    # Django would otherwise answer its own technical page.
    re_path(r"^", kernel_views.not_found, name="not-found"),
]

handler400 = "onboarding.views.bad_request"
handler403 = "onboarding.views.permission_denied"
handler404 = "onboarding.views.not_found"
handler500 = "onboarding.views.server_error"
