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
    path(
        "admin/tokens",
        two_doors(api=api.TokenListView.as_view(), page=views.token_list_page),
        name="token-list",
    ),
    path(
        "admin/tokens/<str:token_id>",
        two_doors(api=api.TokenDetailView.as_view(), page=views.token_detail_page),
        name="token-detail",
    ),
]
