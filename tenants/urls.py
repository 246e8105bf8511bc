from django.urls import path

from onboarding.doors import two_doors
from tenants import api, views

urlpatterns = [
    path(
        "admin/tenants",
        two_doors(api=api.TenantListView.as_view(), page=views.tenant_list_page),
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
]
