"""REST operations on domain and tenant packs (DESIGN §6): list, get, status, diff and the JSON
Schemas. Parse, call a service or selector, render. Import and validation are import_api.py's."""

from typing import Any

import django_filters
from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from onboarding.api import (
    FindingSerializer,
    Pagination,
    RoleApiView,
    StrictCharField,
    StrictSerializer,
    filtered,
    page_output,
    problems,
    valid_input,
)
from onboarding.errors import InvalidInput, NotFound, finding
from onboarding.principal import Principal
from packs import hooks, selectors, services
from packs.diff import json_diff
from packs.models import DomainPack, PackStatus, TenantPack
from packs.validation import load_schema
from packs.versions import MAX_VERSION_LENGTH, parse_version

PACK_TYPES = ("domain", "tenant")

# --- input ---


class VersionField(StrictCharField):
    """A pack version (DESIGN §7): over 50 characters, blank or unparseable is 400
    `invalid_version` at the field's path, the answer every other version input gets."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", f"e.g. v1.4; at most {MAX_VERSION_LENGTH} characters.")
        super().__init__(trim_whitespace=False, allow_blank=True, **kwargs)

    def run_validation(self, data=serializers.empty):
        value = super().run_validation(data)
        if value is not None:
            try:
                parse_version(value)
            except InvalidInput as exc:
                raise serializers.ValidationError(exc.detail, code="invalid_version") from None
        return value


def version_param(value: str, path: str) -> str:
    """A version named in the URL path or query: the same 400 `invalid_version` as in a body."""
    parse_version(value, path)
    return value


class PackStatusInput(StrictSerializer):
    # Any other string, blank or long, is the service's 400 invalid_status (DESIGN §6).
    status = StrictCharField(
        allow_blank=True, trim_whitespace=False, help_text="DRAFT, ACTIVE or DEPRECATED"
    )


# --- output ---


class PackOutput(serializers.Serializer):
    id = serializers.IntegerField()
    pack_type = serializers.ChoiceField(choices=PACK_TYPES)
    domain = serializers.CharField()
    tenant_id = serializers.CharField(required=False, help_text="Tenant packs only.")
    version = serializers.CharField()
    checksum = serializers.CharField()
    size_bytes = serializers.IntegerField()
    status = serializers.ChoiceField(choices=PackStatus.choices)
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField()
    validation_warnings = FindingSerializer(many=True)
    active_for = serializers.ListField(
        child=serializers.CharField(), help_text="Visible tenants running this version."
    )


class PackDetailOutput(PackOutput):
    content_json = serializers.JSONField()


PackPageOutput = page_output("PackPageOutput", PackOutput)


class DiffEntryOutput(serializers.Serializer):
    path = serializers.CharField(
        help_text="JSON Pointer in the `to` version (in `from` for a removal)"
    )
    old = serializers.JSONField(required=False)
    new = serializers.JSONField(required=False)
    old_path = serializers.CharField(
        required=False,
        help_text="JSON Pointer in the `from` version when the item moved (array items are "
        "matched by identity: playbook id, exception type, severity, test name, tool name)",
    )


class DiffSideOutput(serializers.Serializer):
    version = serializers.CharField()
    checksum = serializers.CharField()


class DiffOutput(serializers.Serializer):
    pack_type = serializers.ChoiceField(choices=PACK_TYPES)
    domain = serializers.CharField(required=False)
    tenant_id = serializers.CharField(required=False)
    to = DiffSideOutput()
    added = DiffEntryOutput(many=True)
    removed = DiffEntryOutput(many=True)
    changed = DiffEntryOutput(many=True)


# "from" is a Python keyword: declare the field by name.
DiffOutput._declared_fields["from"] = DiffSideOutput()


def pack_data(pack: DomainPack | TenantPack, active_for: list[str]) -> dict[str, Any]:
    data = {
        "id": pack.pk,
        "pack_type": pack.pack_type,
        "domain": pack.domain,
        "version": pack.version,
        "checksum": pack.checksum,
        "size_bytes": pack.size_bytes,
        "status": pack.status,
        "created_at": pack.created_at,
        "created_by": pack.created_by,
        "validation_warnings": pack.validation_warnings,
        "active_for": active_for,
    }
    if isinstance(pack, TenantPack):
        data["tenant_id"] = pack.tenant_id
    return data


def active_for_map(principal: Principal, packs: list) -> dict[int, list[str]]:
    if not packs:
        return {}
    return hooks.tenants_running(
        principal=principal, pack_type=packs[0].pack_type, pack_ids=[p.pk for p in packs]
    )


def pack_rows(principal: Principal, packs: list) -> list[dict[str, Any]]:
    active = active_for_map(principal, packs)
    return [pack_data(pack, active.get(pack.pk, [])) for pack in packs]


def pack_detail(principal: Principal, pack, **extra: Any) -> dict[str, Any]:
    data = pack_rows(principal, [pack])[0]
    data.update(extra)
    return data


class DomainPackFilter(django_filters.FilterSet):
    domain = django_filters.CharFilter(max_length=200)
    status = django_filters.ChoiceFilter(choices=PackStatus.choices)
    search = django_filters.CharFilter(method="filter_search", max_length=200)

    class Meta:
        model = DomainPack
        fields = ["domain", "status"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(domain__icontains=value) | Q(version__icontains=value))


class TenantPackFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=PackStatus.choices)
    domain = django_filters.CharFilter(max_length=200)
    search = django_filters.CharFilter(method="filter_search", max_length=200)

    class Meta:
        model = TenantPack
        fields = ["status", "domain"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(Q(version__icontains=value) | Q(domain__icontains=value))


_LIST_PARAMETERS = [
    OpenApiParameter("status", str, enum=PackStatus.values),
    OpenApiParameter("search", str, description="Part of the domain or version."),
    OpenApiParameter("page", int),
    OpenApiParameter("page_size", int, description="At most 200."),
]
_DIFF_PARAMETERS = [
    OpenApiParameter("from", str, required=True, description="The older version."),
    OpenApiParameter("to", str, required=True, description="The newer version."),
]


def _page(view, queryset) -> Response:
    paginator = Pagination()
    # Newest first by parsed version; the id breaks ties so pages never overlap.
    page = paginator.paginate_queryset(
        queryset.order_by("-version_key", "domain", "-id"), view.request, view=view
    )
    return paginator.get_paginated_response(pack_rows(view.principal, list(page)))


# --- views: domain packs ---


class DomainPackListView(RoleApiView):
    @extend_schema(
        operation_id="domain_packs_list",
        parameters=[OpenApiParameter("domain", str), *_LIST_PARAMETERS],
        responses={200: PackPageOutput, **problems(400, 401, 403, 404)},
    )
    def get(self, request):
        queryset = selectors.domain_pack_list(principal=self.principal)
        return _page(self, filtered(DomainPackFilter, request, queryset))


class DomainPackDetailView(RoleApiView):
    @extend_schema(
        operation_id="domain_packs_retrieve",
        responses={200: PackDetailOutput, **problems(400, 401, 403, 404)},
    )
    def get(self, request, domain: str, version: str):
        version_param(version, "/version")
        pack = selectors.domain_pack_get(principal=self.principal, domain=domain, version=version)
        return Response(pack_detail(self.principal, pack, content_json=pack.content_json))


class DomainPackStatusView(RoleApiView):
    @extend_schema(
        operation_id="domain_packs_status_update",
        request=PackStatusInput,
        responses={200: PackOutput, **problems(400, 401, 403, 404, 409)},
        description="409 invalid_transition; 409 pack_in_use names the tenants running it.",
    )
    def patch(self, request, domain: str, version: str):
        return _set_status(self, "domain", version, domain=domain)


class DomainPackDiffView(RoleApiView):
    @extend_schema(
        operation_id="domain_packs_diff",
        parameters=_DIFF_PARAMETERS,
        responses={200: DiffOutput, **problems(400, 401, 403, 404)},
    )
    def get(self, request, domain: str):
        return _diff_response(self, "domain", selectors.domain_pack_get, domain=domain)


# --- views: tenant packs ---


class TenantPackListView(RoleApiView):
    @extend_schema(
        operation_id="tenant_packs_list",
        parameters=[OpenApiParameter("domain", str), *_LIST_PARAMETERS],
        responses={200: PackPageOutput, **problems(400, 401, 403, 404)},
    )
    def get(self, request, tenant_id: str):
        queryset = selectors.tenant_pack_list(principal=self.principal, tenant_id=tenant_id)
        return _page(self, filtered(TenantPackFilter, request, queryset))


class TenantPackDetailView(RoleApiView):
    @extend_schema(
        operation_id="tenant_packs_retrieve",
        responses={200: PackDetailOutput, **problems(400, 401, 403, 404)},
    )
    def get(self, request, tenant_id: str, version: str):
        version_param(version, "/version")
        pack = selectors.tenant_pack_get(
            principal=self.principal, tenant_id=tenant_id, version=version
        )
        return Response(pack_detail(self.principal, pack, content_json=pack.content_json))


class TenantPackStatusView(RoleApiView):
    @extend_schema(
        operation_id="tenant_packs_status_update",
        request=PackStatusInput,
        responses={200: PackOutput, **problems(400, 401, 403, 404, 409)},
        description="409 invalid_transition; 409 pack_in_use.",
    )
    def patch(self, request, tenant_id: str, version: str):
        return _set_status(self, "tenant", version, tenant_id=tenant_id)


class TenantPackDiffView(RoleApiView):
    @extend_schema(
        operation_id="tenant_packs_diff",
        parameters=_DIFF_PARAMETERS,
        responses={200: DiffOutput, **problems(400, 401, 403, 404)},
    )
    def get(self, request, tenant_id: str):
        return _diff_response(self, "tenant", selectors.tenant_pack_get, tenant_id=tenant_id)


def _set_status(view, pack_type: str, version: str, **owner: str) -> Response:
    """PATCH .../{version}/status of a domain pack (owner: domain) or a tenant pack (tenant_id)."""
    version_param(version, "/version")
    data = valid_input(PackStatusInput, view.request.data)
    pack = services.pack_set_status(
        principal=view.principal,
        pack_type=pack_type,
        version=version,
        status=data["status"],
        **owner,
    )
    return Response(pack_detail(view.principal, pack))


def _diff_response(view, pack_type: str, get_pack, **owner: str) -> Response:
    """GET .../diff?from=&to= between two versions of one domain's or one tenant's packs."""
    old, new = (
        get_pack(principal=view.principal, version=version, **owner)
        for version in _diff_versions(view.request)
    )
    return Response({"pack_type": pack_type, **owner, **_diff(old, new)})


def _diff_versions(request) -> tuple[str, str]:
    missing = [name for name in ("from", "to") if not request.query_params.get(name)]
    if missing:
        raise InvalidInput(
            "Both ?from= and ?to= versions are required.",
            code="missing_required",
            errors=[
                finding("missing_required", f"/{name}", f"Query parameter {name!r} is required.")
                for name in missing
            ],
        )
    query = request.query_params
    return version_param(query["from"], "/from"), version_param(query["to"], "/to")


def _diff(old, new) -> dict[str, Any]:
    return {
        "from": {"version": old.version, "checksum": old.checksum},
        "to": {"version": new.version, "checksum": new.checksum},
        **json_diff(old.content_json, new.content_json),
    }


# --- views: schemas ---


def _schema(pack_type: str) -> dict[str, Any] | None:
    try:
        return load_schema(pack_type)
    except (KeyError, FileNotFoundError):
        return None


class PackSchemaView(RoleApiView):
    @extend_schema(
        operation_id="packs_schema",
        responses={200: OpenApiTypes.OBJECT, **problems(401, 403, 404)},
        description="The JSON Schema (Draft 2020-12) of a domain or tenant pack.",
    )
    def get(self, request, pack_type: str):
        schema = _schema(pack_type) if pack_type in PACK_TYPES else None
        if schema is None:
            raise NotFound(f"No schema for pack type {pack_type!r}.", code="schema_not_found")
        return Response(schema)
