from django.urls import path

from identity import api, views
from onboarding.doors import two_doors

urlpatterns = [
    path(
        "admin/users",
        two_doors(api=api.UserListView.as_view(), page=views.user_list_page),
        name="user-list",
    ),
    path(
        "admin/users/<str:username>",
        two_doors(api=api.UserDetailView.as_view(), page=views.user_detail_page),
        name="user-detail",
    ),
    path(
        "admin/users/<str:username>/roles",
        two_doors(api=api.UserRoleListView.as_view(), page=views.user_roles_page),
        name="user-roles",
    ),
    path(
        "admin/users/<str:username>/roles/<str:binding_id>",
        two_doors(api=api.UserRoleDetailView.as_view(), page=views.user_role_detail_page),
        name="user-role-detail",
    ),
]
