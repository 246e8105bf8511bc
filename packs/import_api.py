"""REST operations that import and validate packs (DESIGN §6, §7): parse, call the import or
validation service, render; a request refused before the service runs is a refused import like
any other (recorded)."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from onboarding import ratelimit
from onboarding.api import (
    FindingSerializer,
    JsonObjectField,
    RoleApiView,
    StrictCharField,
    StrictChoiceField,
    StrictSerializer,
    TenantIdField,
    problems,
    valid_input,
)
from onboarding.errors import InvalidInput, ServiceError
from onboarding.problems import problem_for_exception
from packs import services
from packs.api import PACK_TYPES, PackOutput, VersionField, pack_detail


class DomainImportInput(StrictSerializer):
    content = JsonObjectField(help_text="The domain pack document.")
    version = VersionField(
        required=False, help_text="e.g. v3.2; default: the content's version, else the next one."
    )
    domain = StrictCharField(required=False, help_text="Must equal the content's domainName.")


class TenantImportInput(StrictSerializer):
    tenant_id = TenantIdField()
    content = JsonObjectField(help_text="The tenant pack document.")
    version = VersionField(required=False)
    domain_pack_version = VersionField(
        required=False, help_text="Validate against this domain pack version (default §7)."
    )


class ValidateInput(StrictSerializer):
    pack_type = StrictChoiceField(choices=PACK_TYPES)
    content = JsonObjectField()
    tenant_id = TenantIdField(required=False)
    domain_pack_version = VersionField(required=False)
    version = VersionField(
        required=False,
        help_text="The version the import would store: checked as import checks it (it must "
        "parse and agree with the content's `version`).",
    )


class ReportOutput(serializers.Serializer):
    valid = serializers.BooleanField()
    pack_type = serializers.ChoiceField(choices=PACK_TYPES)
    checksum = serializers.CharField()
    errors = FindingSerializer(many=True)
    warnings = FindingSerializer(many=True)
    summary = serializers.DictField()
    checked_against = serializers.DictField(allow_null=True)


class PackImportOutput(PackOutput):
    validation = ReportOutput()


def _import_input(view, serializer_class, pack_type: str) -> dict[str, Any]:
    """The fields of an import request. A body refused here (unreadable JSON, NaN, a bad
    field) is a refused import like any other: recorded, then answered."""
    try:
        return valid_input(serializer_class, view.request.data)
    except (ServiceError, serializers.ValidationError) as exc:
        error = exc if isinstance(exc, ServiceError) else _as_service_error(exc)
        try:
            fields = view.request.data
        except ServiceError:
            fields = {}
        fields = fields if isinstance(fields, dict) else {}
        services.pack_import_refusal_record(
            principal=view.principal,
            pack_type=pack_type,
            error=error,
            tenant_id=fields.get("tenant_id"),
            version=fields.get("version"),
            domain=fields.get("domain"),
        )
        raise


def _as_service_error(exc: serializers.ValidationError) -> ServiceError:
    body, _headers = problem_for_exception(exc)
    return InvalidInput(body["detail"], code=body["code"], errors=body.get("errors") or [])


def _import_response(view, result: services.ImportResult) -> Response:
    body = pack_detail(view.principal, result.pack, validation=result.report)
    return Response(body, status=201 if result.created else 200)


class DomainPackImportView(RoleApiView):
    @extend_schema(
        operation_id="domain_packs_import",
        request=DomainImportInput,
        responses={
            201: PackImportOutput,
            200: PackImportOutput,
            **problems(400, 401, 403, 409, 413, 429),
        },
        description="201 new version; 200 the same version with the same checksum exists. "
        "`version` and the content's `version` must agree when both are given. A new version "
        "whose checksum equals an existing version's is stored with a `duplicate_content` "
        "warning naming that version (in `validation.warnings`). 400 pack_invalid (errors of "
        "the validation report), domain_mismatch, invalid_version, version_mismatch; "
        "409 version_exists. Every refusal is a `pack.import_rejected` audit row.",
    )
    def post(self, request):
        ratelimit.enforce(request, "pack_import")
        data = _import_input(self, DomainImportInput, "domain")
        result = services.domain_pack_import(principal=self.principal, **data)
        return _import_response(self, result)


class TenantPackImportView(RoleApiView):
    @extend_schema(
        operation_id="tenant_packs_import",
        request=TenantImportInput,
        responses={
            201: PackImportOutput,
            200: PackImportOutput,
            **problems(400, 401, 403, 404, 409, 413, 429),
        },
        description="Validated against the domain pack version it would run with (recorded "
        "on the pack for export). `version` and the content's `version` must agree; identical "
        "content under a new version carries a `duplicate_content` warning. 400 pack_invalid, "
        "tenant_mismatch, version_mismatch; 404 unknown tenant; 409 version_exists. Every "
        "refusal is a `pack.import_rejected` audit row.",
    )
    def post(self, request):
        ratelimit.enforce(request, "pack_import")
        data = _import_input(self, TenantImportInput, "tenant")
        result = services.tenant_pack_import(principal=self.principal, **data)
        return _import_response(self, result)


class PackValidateView(RoleApiView):
    @extend_schema(
        operation_id="packs_validate",
        request=ValidateInput,
        responses={200: ReportOutput, **problems(400, 401, 403, 404, 413, 429)},
        description="The validation report, valid or not; nothing is stored.",
    )
    def post(self, request):
        ratelimit.enforce(request, "pack_validate")
        data = valid_input(ValidateInput, request.data)
        return Response(services.pack_validate(principal=self.principal, **data))
