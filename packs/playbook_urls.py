from django.urls import path

from packs import playbook_api

urlpatterns = [
    path("admin/playbooks", playbook_api.PlaybookListView.as_view(), name="playbook-list"),
    path(
        "admin/playbooks/links",
        playbook_api.PlaybookLinkCreateView.as_view(),
        name="playbook-link-create",
    ),
    path(
        "admin/playbooks/links/<int:link_id>",
        playbook_api.PlaybookLinkDeleteView.as_view(),
        name="playbook-link-delete",
    ),
]
