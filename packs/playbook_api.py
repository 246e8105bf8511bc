"""Playbook registry and links over HTTP (DESIGN §6): parse, call the service, render."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from onboarding.api import (
    FindingSerializer,
    Pagination,
    RoleApiView,
    StrictCharField,
    StrictSerializer,
    TenantIdField,
    page_output,
    problems,
    valid_input,
)
from packs import services
from packs.api import VersionField
from packs.models import PlaybookLink
from packs.playbooks import playbook_registry


class PlaybookRowSerializer(serializers.Serializer):
    playbook_id = serializers.CharField()
    domain = serializers.CharField()
    exception_type = serializers.CharField()
    source = serializers.ChoiceField(choices=["domain", "tenant"])
    pack_version = serializers.CharField()
    tools = serializers.ListField(child=serializers.CharField())
    linked = serializers.BooleanField()
    link_id = serializers.IntegerField(allow_null=True)
    pinned_version = serializers.CharField(allow_null=True)
    compatible = serializers.BooleanField()
    reasons = FindingSerializer(many=True)


PlaybookPageSerializer = page_output("PlaybookPageSerializer", PlaybookRowSerializer)


class PlaybookLinkSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    tenant_id = serializers.CharField()
    domain = serializers.CharField()
    playbook_id = serializers.CharField()
    domain_pack_version = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField()


def link_as_dict(link: PlaybookLink) -> dict[str, Any]:
    return PlaybookLinkSerializer(
        {
            "id": link.pk,
            "tenant_id": link.tenant_id,
            "domain": link.domain,
            "playbook_id": link.playbook_id,
            "domain_pack_version": link.domain_pack.version if link.domain_pack else None,
            "created_at": link.created_at,
            "created_by": link.created_by,
        }
    ).data


class PlaybookListView(RoleApiView):
    """Registry rows computed for the tenant's active pair (else the domain's newest
    non-deprecated version); without a tenant, platform roles see the domain's catalogue."""

    @extend_schema(
        operation_id="playbook_list",
        summary="Playbook registry of a tenant (or a domain's catalogue)",
        parameters=[
            OpenApiParameter("tenant_id", str, description="The tenant; platform roles may omit"),
            OpenApiParameter("domain", str, description="Default: the tenant's active domain"),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={
            200: PlaybookPageSerializer,
            **problems(
                400,
                401,
                403,
                404,
                s400="tenant_id_or_domain_required, domain_required or tenant_id_required",
                s404="Unknown tenant, or one the principal may not see",
            ),
        },
    )
    def get(self, request):
        rows = playbook_registry(
            principal=self.principal,
            tenant_id=request.query_params.get("tenant_id") or None,
            domain=request.query_params.get("domain") or None,
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(page)


class LinkCreateInput(StrictSerializer):
    tenant_id = TenantIdField()  # an id that names no tenant is a 404, whatever its length
    playbook_id = StrictCharField(max_length=200)
    domain = StrictCharField(max_length=200, required=False, allow_null=True)
    domain_pack_version = VersionField(
        required=False, allow_null=True, help_text="Pin; omit to follow active"
    )


class PlaybookLinkCreateView(RoleApiView):
    """Link a playbook, following the tenant's active domain pack version or pinned to
    `domain_pack_version`; an incompatible playbook is refused with every reason."""

    @extend_schema(
        operation_id="playbook_link_create",
        summary="Link a playbook to a tenant",
        request=LinkCreateInput,
        responses={
            201: PlaybookLinkSerializer,
            **problems(
                400,
                401,
                403,
                404,
                409,
                s400="Invalid body (unknown_field, domain_required, ...)",
                s403="ADMIN of the tenant required",
                s404="Unknown tenant, domain pack version or playbook (playbook_not_found)",
                s409="link_exists, or incompatible_playbook with every reason",
            ),
        },
    )
    def post(self, request):
        data = valid_input(LinkCreateInput, request.data)
        link = services.playbook_link_create(principal=self.principal, **data)
        return Response(link_as_dict(link), status=status.HTTP_201_CREATED)


class PlaybookLinkDeleteView(RoleApiView):
    """Remove a link; activation then no longer has to keep its playbook compatible."""

    @extend_schema(
        operation_id="playbook_link_delete",
        summary="Unlink a playbook",
        request=None,
        responses={
            204: None,
            **problems(
                401,
                403,
                404,
                s403="ADMIN of the tenant required",
                s404="Unknown link, or one of another tenant",
            ),
        },
    )
    def delete(self, request, link_id: int):
        services.playbook_link_delete(principal=self.principal, link_id=link_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
