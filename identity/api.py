"""REST operations on users and role bindings (DESIGN §15). Parse, call a service or selector,
render; the rules live in identity.services."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from identity import selectors, services
from identity.models import TokenScope
from onboarding.api import (
    Pagination,
    RoleApiView,
    StrictBooleanField,
    StrictCharField,
    StrictChoiceField,
    StrictSerializer,
    TenantIdField,
    page_output,
    problems,
    valid_input,
)
from onboarding.principal import Role

# --- input ---


class UserCreateInput(StrictSerializer):
    username = StrictCharField(max_length=300, trim_whitespace=False)
    email = StrictCharField(required=False, allow_blank=True, max_length=254, default="")
    display_name = StrictCharField(required=False, allow_blank=True, max_length=200, default="")
    service_account = StrictBooleanField(required=False, default=False)


class UserUpdateInput(StrictSerializer):
    display_name = StrictCharField(required=False, allow_blank=True, max_length=200)
    is_active = StrictBooleanField(required=False)


class RoleGrantInput(StrictSerializer):
    role = StrictChoiceField(choices=Role.choices)
    tenant_id = TenantIdField(required=False, allow_null=True, default=None)


# --- output ---


class BindingOutput(serializers.Serializer):
    id = serializers.IntegerField()
    role = serializers.ChoiceField(choices=Role.choices)
    tenant_id = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


class UserOutput(serializers.Serializer):
    username = serializers.CharField()
    email = serializers.CharField()
    display_name = serializers.CharField()
    service_account = serializers.BooleanField()
    is_active = serializers.BooleanField()
    date_joined = serializers.DateTimeField()
    last_login = serializers.DateTimeField(allow_null=True)
    roles = BindingOutput(many=True)


UserPageOutput = page_output("UserPageOutput", UserOutput)


class AccessRequestOutput(serializers.Serializer):
    id = serializers.CharField()
    kind = serializers.CharField()
    status = serializers.CharField()
    tenant_id = serializers.CharField(allow_null=True)
    requested_by = serializers.CharField()
    requested_at = serializers.DateTimeField()
    access = serializers.DictField()


class GrantPendingOutput(serializers.Serializer):
    change_request = AccessRequestOutput()


def binding_data(binding) -> dict:
    return {
        "id": binding.pk,
        "role": binding.role,
        "tenant_id": binding.tenant_id,
        "created_at": binding.created_at,
    }


def user_data(user) -> dict:
    profile = getattr(user, "identity_profile", None)
    roles = getattr(user, "visible_roles", None)
    return {
        "username": user.get_username(),
        "email": user.email,
        "display_name": profile.display_name if profile else "",
        "service_account": bool(profile and profile.service_account),
        "is_active": user.is_active,
        "date_joined": user.date_joined,
        "last_login": user.last_login,
        "roles": [binding_data(b) for b in (roles if roles is not None else [])],
    }


def access_request_data(change_request) -> dict:
    return {
        "id": str(change_request.pk),
        "kind": change_request.kind,
        "status": change_request.status,
        "tenant_id": change_request.tenant_id,
        "requested_by": change_request.requested_by,
        "requested_at": change_request.requested_at,
        "access": (change_request.policy or {}).get("access") or {},
    }


# --- views ---


class UserListView(RoleApiView):
    @extend_schema(
        operation_id="users_list",
        parameters=[
            OpenApiParameter("search", str, description="Part of the username, e-mail or name."),
            OpenApiParameter("is_active", bool),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="At most 200."),
        ],
        responses={200: UserPageOutput, **problems(400, 401, 403, 404)},
    )
    def get(self, request):
        active = {"true": True, "false": False}.get(request.query_params.get("is_active", ""))
        users = selectors.user_list(
            principal=self.principal,
            search=request.query_params.get("search", "")[:200],
            active=active,
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(users, request, view=self)
        return paginator.get_paginated_response([user_data(u) for u in page])

    @extend_schema(
        operation_id="users_create",
        request=UserCreateInput,
        responses={
            201: UserOutput,
            **problems(400, 401, 403, 409, s409="identity_exists", s400="invalid_username"),
        },
    )
    def post(self, request):
        data = valid_input(UserCreateInput, request.data)
        user = services.user_create(actor=self.principal, **data)
        return Response(
            user_data(selectors.user_get(principal=self.principal, username=user.username)),
            status=201,
        )


class UserDetailView(RoleApiView):
    @extend_schema(operation_id="users_get", responses={200: UserOutput, **problems(401, 403, 404)})
    def get(self, request, username):
        return Response(user_data(selectors.user_get(principal=self.principal, username=username)))

    @extend_schema(
        operation_id="users_update",
        request=UserUpdateInput,
        responses={
            200: UserOutput,
            **problems(400, 401, 403, 404, 409, s403="self_grant", s409="last_admin"),
        },
    )
    def patch(self, request, username):
        data = valid_input(UserUpdateInput, request.data)
        services.user_update(actor=self.principal, username=username, **data)
        return Response(user_data(selectors.user_get(principal=self.principal, username=username)))


class UserRoleListView(RoleApiView):
    @extend_schema(
        operation_id="users_roles_grant",
        request=RoleGrantInput,
        responses={
            201: BindingOutput,
            200: BindingOutput,
            202: GrantPendingOutput,
            **problems(
                400,
                401,
                403,
                404,
                409,
                s403="self_grant, platform_admin_required",
                s409="last_admin",
            ),
        },
    )
    def post(self, request, username):
        data = valid_input(RoleGrantInput, request.data)
        outcome = services.role_grant(actor=self.principal, username=username, **data)
        if outcome.change_request is not None:
            return Response(
                {"change_request": access_request_data(outcome.change_request)}, status=202
            )
        return Response(binding_data(outcome.binding), status=201 if outcome.created else 200)


class UserRoleDetailView(RoleApiView):
    @extend_schema(
        operation_id="users_roles_revoke",
        responses={204: None, **problems(401, 403, 404, 409, s403="self_grant", s409="last_admin")},
    )
    def delete(self, request, username, binding_id):
        services.role_revoke(actor=self.principal, username=username, binding_id=binding_id)
        return Response(status=204)


# --- tokens ---


class TokenCreateInput(StrictSerializer):
    name = StrictCharField(max_length=100)
    scope = StrictChoiceField(choices=TokenScope.choices, required=False, default="write")
    tenant_ids = serializers.ListField(
        child=StrictCharField(max_length=64), required=False, allow_empty=True, max_length=200
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    username = StrictCharField(
        required=False,
        max_length=150,
        help_text="An ADMIN may create a token for a user it manages.",
    )


class TokenOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    username = serializers.CharField()
    prefix = serializers.CharField()
    scope = serializers.ChoiceField(choices=TokenScope.choices)
    tenant_ids = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)


class TokenCreatedOutput(TokenOutput):
    token = serializers.CharField(help_text="The secret, shown this once; only its hash is kept.")


TokenPageOutput = page_output("TokenPageOutput", TokenOutput)


def token_data(token) -> dict:
    return {
        "id": token.pk,
        "name": token.name,
        "username": token.user.get_username(),
        "prefix": token.prefix,
        "scope": token.scope,
        "tenant_ids": list(token.tenant_ids or []),
        "created_at": token.created_at,
        "created_by": token.created_by,
        "expires_at": token.expires_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
    }


class TokenListView(RoleApiView):
    @extend_schema(
        operation_id="tokens_list",
        parameters=[
            OpenApiParameter("username", str),
            OpenApiParameter("active", bool),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="At most 200."),
        ],
        responses={200: TokenPageOutput, **problems(400, 401, 403, 404)},
    )
    def get(self, request):
        active = {"true": True, "false": False}.get(request.query_params.get("active", ""))
        tokens = selectors.token_list(
            principal=self.principal,
            username=request.query_params.get("username", "")[:150],
            active=active,
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(tokens, request, view=self)
        return paginator.get_paginated_response([token_data(t) for t in page])

    @extend_schema(
        operation_id="tokens_create",
        request=TokenCreateInput,
        responses={201: TokenCreatedOutput, **problems(400, 401, 403, 404, 409)},
    )
    def post(self, request):
        data = valid_input(TokenCreateInput, request.data)
        token, secret = services.token_create(actor=self.principal, **data)
        return Response({**token_data(token), "token": secret}, status=201)


class TokenDetailView(RoleApiView):
    @extend_schema(operation_id="tokens_revoke", responses={204: None, **problems(401, 403, 404)})
    def delete(self, request, token_id):
        services.token_revoke(actor=self.principal, token_id=token_id)
        return Response(status=204)
