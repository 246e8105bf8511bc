from django.urls import path

from governance import api, views
from onboarding.doors import two_doors

urlpatterns = [
    path(
        "admin/platform/settings",
        two_doors(api=api.PlatformSettingsView.as_view(), page=views.platform_settings_page),
        name="platform-settings",
    ),
    path(
        "admin/packs/activate",
        two_doors(api=api.ActivateView.as_view(), page=views.activate_page),
        name="config-activate",
    ),
    path(
        "admin/tenants/<str:tenant_id>/rollback",
        two_doors(api=api.RollbackView.as_view(), page=views.rollback_page),
        name="tenant-rollback",
    ),
    path(
        "admin/config-changes",
        two_doors(api=api.ChangeRequestListView.as_view(), page=views.change_list_page),
        name="config-change-list",
    ),
    path(
        "admin/config-changes/<uuid:id>",
        two_doors(api=api.ChangeRequestDetailView.as_view(), page=views.change_detail_page),
        name="config-change-detail",
    ),
    path(
        "admin/config-changes/<uuid:id>/approve",
        two_doors(api=api.ChangeRequestApproveView.as_view(), page=views.change_approve_page),
        name="config-change-approve",
    ),
    path(
        "admin/config-changes/<uuid:id>/reject",
        two_doors(api=api.ChangeRequestRejectView.as_view(), page=views.change_reject_page),
        name="config-change-reject",
    ),
    path(
        "admin/config-changes/<uuid:id>/cancel",
        two_doors(api=api.ChangeRequestCancelView.as_view(), page=views.change_cancel_page),
        name="config-change-cancel",
    ),
]
