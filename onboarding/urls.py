from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from onboarding import views
from onboarding.confirm import confirm_page
from onboarding.doors import page_only
from onboarding.ui import page_view

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("api/schema/", views.SchemaView.as_view(), name="schema"),
    path("api/docs/", views.SwaggerDocsView.as_view(url_name="schema"), name="swagger-ui"),
    path("django-admin/", admin.site.urls),
    # The runtime's paths first: they are the hot path, and resolution walks this list in order.
    path("", include("runtime_config.runtime_urls")),
    path("", RedirectView.as_view(url="/admin/tenants", permanent=False), name="home"),
    path(
        "login",
        auth_views.LoginView.as_view(template_name="login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("logout", views.logout_page, name="logout"),
    # The ConfirmDialog as a page, for browsers without JavaScript (onboarding/confirm.py).
    path(
        "confirm",
        page_only(page_view(confirm_page), api="the write's own path (POST/PATCH/DELETE)"),
        name="confirm",
    ),
    # Each app's urls.py declares its paths with onboarding.doors: `two_doors(api=..., page=...)`
    # where a browser gets a page and a REST client JSON, `page_only(...)` for pages alone.
    path("", include("tenants.urls")),
    path("", include("packs.urls")),
    path("", include("packs.playbook_urls")),
    path("", include("runtime_config.urls")),
    path("", include("governance.urls")),
    path("", include("audit.urls")),
    path("", include("webhooks.urls")),
    path("", include("impact.urls")),
    # Last: any other path is the styled 404 (page or problem+json), with DEBUG on too, where
    # Django would otherwise answer its own technical page.
    re_path(r"^", views.not_found, name="not-found"),
]

handler400 = "onboarding.views.bad_request"
handler403 = "onboarding.views.permission_denied"
handler404 = "onboarding.views.not_found"
handler500 = "onboarding.views.server_error"
