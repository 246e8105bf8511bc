from django.urls import path

from packs import api

# Literal segments (import, diff) come before the patterns they would otherwise match.
urlpatterns = [
    path("admin/packs/validate", api.PackValidateView.as_view(), name="pack-validate"),
    path("admin/packs/schema/<str:pack_type>", api.PackSchemaView.as_view(), name="pack-schema"),
    path(
        "admin/packs/domain/import",
        api.DomainPackImportView.as_view(),
        name="domain-pack-import",
    ),
    path("admin/packs/domain", api.DomainPackListView.as_view(), name="domain-pack-list"),
    path(
        "admin/packs/domain/<str:domain>/diff",
        api.DomainPackDiffView.as_view(),
        name="domain-pack-diff",
    ),
    path(
        "admin/packs/domain/<str:domain>/<str:version>",
        api.DomainPackDetailView.as_view(),
        name="domain-pack-detail",
    ),
    path(
        "admin/packs/domain/<str:domain>/<str:version>/status",
        api.DomainPackStatusView.as_view(),
        name="domain-pack-status",
    ),
    path(
        "admin/packs/tenant/import",
        api.TenantPackImportView.as_view(),
        name="tenant-pack-import",
    ),
    path(
        "admin/packs/tenant/<str:tenant_id>",
        api.TenantPackListView.as_view(),
        name="tenant-pack-list",
    ),
    path(
        "admin/packs/tenant/<str:tenant_id>/diff",
        api.TenantPackDiffView.as_view(),
        name="tenant-pack-diff",
    ),
    path(
        "admin/packs/tenant/<str:tenant_id>/<str:version>",
        api.TenantPackDetailView.as_view(),
        name="tenant-pack-detail",
    ),
    path(
        "admin/packs/tenant/<str:tenant_id>/<str:version>/status",
        api.TenantPackStatusView.as_view(),
        name="tenant-pack-status",
    ),
]
