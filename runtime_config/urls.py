from django.urls import path

from runtime_config import api

urlpatterns = [
    path("admin/packs/activate", api.ActivateView.as_view(), name="config-activate"),
    path(
        "admin/tenants/<str:tenant_id>/activations",
        api.ActivationHistoryView.as_view(),
        name="tenant-activations",
    ),
    path(
        "admin/tenants/<str:tenant_id>/rollback",
        api.RollbackView.as_view(),
        name="tenant-rollback",
    ),
    path("admin/config-changes", api.ChangeRequestListView.as_view(), name="config-change-list"),
    path(
        "admin/config-changes/<uuid:id>/approve",
        api.ChangeRequestApproveView.as_view(),
        name="config-change-approve",
    ),
    path(
        "admin/config-changes/<uuid:id>/reject",
        api.ChangeRequestRejectView.as_view(),
        name="config-change-reject",
    ),
    path(
        "admin/config-changes/<uuid:id>/cancel",
        api.ChangeRequestCancelView.as_view(),
        name="config-change-cancel",
    ),
]
