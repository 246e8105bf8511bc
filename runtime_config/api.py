"""REST reads of what a tenant runs (DESIGN §6, §14): its activation history and the
convergence of the serving processes. Activation, rollback and change requests are governance's
(governance/api.py)."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from onboarding.api import Pagination, RoleApiView, page_output, problems
from runtime_config import selectors

# --- output ---


class ActiveConfigOutput(serializers.Serializer):
    tenant_id = serializers.CharField()
    domain = serializers.CharField()
    active_domain_pack_version = serializers.CharField(allow_null=True)
    active_tenant_pack_version = serializers.CharField(allow_null=True)
    activated_at = serializers.DateTimeField()
    activated_by = serializers.CharField()
    revision = serializers.IntegerField()


class ActivationResultOutput(ActiveConfigOutput):
    changed = serializers.BooleanField()


class ActivationHistoryOutput(serializers.Serializer):
    revision = serializers.IntegerField()
    kind = serializers.CharField()
    domain = serializers.CharField()
    from_domain_pack_version = serializers.CharField(allow_null=True)
    from_tenant_pack_version = serializers.CharField(allow_null=True)
    to_domain_pack_version = serializers.CharField(allow_null=True)
    to_tenant_pack_version = serializers.CharField(allow_null=True)
    actor = serializers.CharField()
    activated_at = serializers.DateTimeField()
    comment = serializers.CharField(allow_blank=True)
    change_request_id = serializers.UUIDField(allow_null=True)


ActivationHistoryPageOutput = page_output("ActivationHistoryPageOutput", ActivationHistoryOutput)


def _version(pack) -> str | None:
    return pack.version if pack is not None else None


def active_config_data(config, *, changed: bool | None = None) -> dict[str, Any] | None:
    """A tenant's active config as the API names it (DESIGN §3); `changed` for activations."""
    if config is None:
        return None
    data = {
        "tenant_id": config.tenant_id,
        "domain": config.domain,
        "active_domain_pack_version": _version(config.domain_pack),
        "active_tenant_pack_version": _version(config.tenant_pack),
        "activated_at": config.activated_at,
        "activated_by": config.activated_by,
        "revision": config.revision,
    }
    if changed is not None:
        data["changed"] = changed
    return data


def history_data(row) -> dict[str, Any]:
    return {
        "revision": row.revision,
        "kind": row.kind,
        "domain": row.domain,
        "from_domain_pack_version": _version(row.from_domain_pack),
        "from_tenant_pack_version": _version(row.from_tenant_pack),
        "to_domain_pack_version": _version(row.to_domain_pack),
        "to_tenant_pack_version": _version(row.to_tenant_pack),
        "actor": row.actor,
        "activated_at": row.activated_at,
        "comment": row.comment,
        "change_request_id": row.change_request_id,
    }


# --- views ---


class ActivationHistoryView(RoleApiView):
    @extend_schema(
        operation_id="config_activations_list",
        parameters=[OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: ActivationHistoryPageOutput, **problems(401, 403, 404)},
    )
    def get(self, request, tenant_id: str):
        queryset = selectors.activation_history_list(principal=self.principal, tenant_id=tenant_id)
        paginator = Pagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response([history_data(row) for row in page])


ConvergenceOutput = inline_serializer(
    "Convergence",
    {
        "tenant_id": serializers.CharField(),
        "revision": serializers.IntegerField(allow_null=True, help_text="The active revision"),
        "checksum": serializers.CharField(
            allow_null=True, help_text="SHA-256 of `<domain pack checksum>:<tenant pack checksum>`"
        ),
        "converged": serializers.BooleanField(
            allow_null=True,
            help_text="Every listed process serves the active revision and pair; null when no "
            "live process serves the tenant",
        ),
        "state": serializers.ChoiceField(
            choices=["converged", "converging", "not_served"],
            help_text="`not_served`: no live process has reported serving the tenant",
        ),
        "reason": serializers.CharField(help_text="Why it is not converged; empty when it is"),
        "processes": inline_serializer(
            "ServingProcess",
            {
                "process_id": serializers.CharField(),
                "host": serializers.CharField(),
                "pid": serializers.IntegerField(),
                "revision": serializers.IntegerField(),
                "checksum": serializers.CharField(),
                "seen_at": serializers.DateTimeField(),
                "current": serializers.BooleanField(),
            },
            many=True,
        ),
    },
)


class ConvergenceView(RoleApiView):
    @extend_schema(
        operation_id="tenant_convergence",
        responses={200: ConvergenceOutput, **problems(401, 403, 404)},
        description="Which revision of the tenant's configuration each serving process answers "
        "with, as its last heartbeat (at most every 5 s) said; processes silent for 30 s are "
        "left out.",
    )
    def get(self, request, tenant_id: str):
        return Response(selectors.convergence_get(principal=self.principal, tenant_id=tenant_id))
