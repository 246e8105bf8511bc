from django.urls import path

from audit import api

urlpatterns = [
    path("admin/audit", api.AuditEventListView.as_view(), name="audit-list"),
]
