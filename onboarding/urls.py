from django.contrib import admin
from django.urls import include, path

from onboarding import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("api/schema/", views.SchemaView.as_view(), name="schema"),
    path("api/docs/", views.SwaggerDocsView.as_view(url_name="schema"), name="swagger-ui"),
    path("django-admin/", admin.site.urls),
    # The runtime's paths first: they are the hot path, and resolution walks this list in order.
    path("", include("runtime_config.runtime_urls")),
    path("", include("onboarding.page_urls")),
    path("", include("tenants.urls")),
    path("", include("packs.urls")),
    path("", include("packs.playbook_urls")),
    path("", include("runtime_config.urls")),
    path("", include("audit.urls")),
]

handler400 = "onboarding.views.bad_request"
handler403 = "onboarding.views.permission_denied"
handler404 = "onboarding.views.not_found"
handler500 = "onboarding.views.server_error"
