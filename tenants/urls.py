from django.urls import path

from tenants import api

urlpatterns = [
    path("admin/tenants", api.TenantListView.as_view(), name="tenant-list"),
    path("admin/tenants/<str:tenant_id>", api.TenantDetailView.as_view(), name="tenant-detail"),
    path(
        "admin/tenants/<str:tenant_id>/status",
        api.TenantStatusView.as_view(),
        name="tenant-status",
    ),
]
