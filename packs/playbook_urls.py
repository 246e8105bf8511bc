from django.urls import path

from onboarding.doors import two_doors
from packs import playbook_api, playbook_views

urlpatterns = [
    path(
        "admin/playbooks",
        two_doors(
            api=playbook_api.PlaybookListView.as_view(), page=playbook_views.playbook_list_page
        ),
        name="playbook-list",
    ),
    path(
        "admin/playbooks/links",
        two_doors(
            api=playbook_api.PlaybookLinkCreateView.as_view(),
            page=playbook_views.playbook_link_create_page,
        ),
        name="playbook-link-create",
    ),
    path(
        "admin/playbooks/links/<int:link_id>",
        two_doors(
            api=playbook_api.PlaybookLinkDeleteView.as_view(),
            page=playbook_views.playbook_link_delete_page,
        ),
        name="playbook-link-delete",
    ),
]
