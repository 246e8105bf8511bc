from django.urls import path

from audit import api, views
from onboarding.doors import two_doors

urlpatterns = [
    path(
        "admin/audit",
        two_doors(api=api.AuditEventListView.as_view(), page=views.audit_list_page),
        name="audit-list",
    ),
    path(
        "admin/audit/<int:event_id>",
        two_doors(api=api.AuditEventDetailView.as_view(), page=views.audit_event_page),
        name="audit-event",
    ),
]
