from django.urls import path

from onboarding.doors import page_only, two_doors
from packs import api, import_api, import_views, views

# Literal segments (import, diff) come before the patterns they would otherwise match.
urlpatterns = [
    path(
        "admin/packs",
        page_only(
            views.packs_index,
            api="GET /admin/packs/domain and GET /admin/packs/tenant/{tenant_id}",
        ),
        name="packs-page",
    ),
    path(
        "admin/packs/validate",
        two_doors(api=import_api.PackValidateView.as_view(), page=import_views.pack_validate_page),
        name="pack-validate",
    ),
    path(
        "admin/packs/schema/<str:pack_type>",
        two_doors(api=api.PackSchemaView.as_view(), page=views.pack_schema_page),
        name="pack-schema",
    ),
    path(
        "admin/packs/domain/import",
        two_doors(
            api=import_api.DomainPackImportView.as_view(), page=import_views.domain_pack_import_page
        ),
        name="domain-pack-import",
    ),
    path(
        "admin/packs/domain",
        two_doors(api=api.DomainPackListView.as_view(), page=views.domain_pack_list_page),
        name="domain-pack-list",
    ),
    path(
        "admin/packs/domain/<str:domain>/diff",
        two_doors(api=api.DomainPackDiffView.as_view(), page=views.domain_pack_diff_page),
        name="domain-pack-diff",
    ),
    path(
        "admin/packs/domain/<str:domain>/<str:version>",
        two_doors(api=api.DomainPackDetailView.as_view(), page=views.domain_pack_detail_page),
        name="domain-pack-detail",
    ),
    path(
        "admin/packs/domain/<str:domain>/<str:version>/status",
        two_doors(api=api.DomainPackStatusView.as_view(), page=views.domain_pack_status_page),
        name="domain-pack-status",
    ),
    path(
        "admin/packs/tenant/import",
        two_doors(
            api=import_api.TenantPackImportView.as_view(), page=import_views.tenant_pack_import_page
        ),
        name="tenant-pack-import",
    ),
    path(
        "admin/packs/tenant/<str:tenant_id>",
        two_doors(api=api.TenantPackListView.as_view(), page=views.tenant_pack_list_page),
        name="tenant-pack-list",
    ),
    path(
        "admin/packs/tenant/<str:tenant_id>/diff",
        two_doors(api=api.TenantPackDiffView.as_view(), page=views.tenant_pack_diff_page),
        name="tenant-pack-diff",
    ),
    path(
        "admin/packs/tenant/<str:tenant_id>/<str:version>",
        two_doors(api=api.TenantPackDetailView.as_view(), page=views.tenant_pack_detail_page),
        name="tenant-pack-detail",
    ),
    path(
        "admin/packs/tenant/<str:tenant_id>/<str:version>/status",
        two_doors(api=api.TenantPackStatusView.as_view(), page=views.tenant_pack_status_page),
        name="tenant-pack-status",
    ),
]
