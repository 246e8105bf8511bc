"""Webhook subscriptions and their delivery log over HTTP (DESIGN §14): parse, call a service or
selector, render."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from onboarding import ratelimit
from onboarding.api import (
    Pagination,
    RoleApiView,
    StrictBooleanField,
    StrictCharField,
    StrictSerializer,
    page_output,
    problems,
    valid_input,
)
from onboarding.errors import InvalidInput, finding
from webhooks import selectors, services
from webhooks.events import EVENT_TYPES
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription

# --- input ---


class WebhookCreateInput(StrictSerializer):
    # Checked by the service (400 invalid_webhook_url / webhook_url_forbidden).
    url = StrictCharField(allow_blank=True, trim_whitespace=False, help_text="http(s) URL")
    events = serializers.ListField(
        child=StrictCharField(allow_blank=True, trim_whitespace=False),
        help_text=f"One or more of: {', '.join(EVENT_TYPES)}",
    )
    tenant_id = StrictCharField(
        required=False,
        allow_null=True,
        default=None,
        trim_whitespace=False,
        help_text="Only this tenant's events. Omitted: every event (platform ADMIN only).",
    )
    active = StrictBooleanField(required=False, default=True)


class WebhookUpdateInput(StrictSerializer):
    url = StrictCharField(required=False, allow_blank=True, trim_whitespace=False)
    events = serializers.ListField(
        child=StrictCharField(allow_blank=True, trim_whitespace=False), required=False
    )
    active = StrictBooleanField(required=False)


class NoInput(StrictSerializer):
    """A body with no fields: any field sent is a 400 unknown_field."""


# --- output ---


class WebhookOutput(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    tenant_id = serializers.CharField(allow_null=True)
    active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField()
    updated_at = serializers.DateTimeField()
    failure_streak = serializers.IntegerField(help_text="Failed attempts in a row.")
    paused_at = serializers.DateTimeField(
        allow_null=True, help_text="Set while the circuit breaker holds deliveries back."
    )
    paused_until = serializers.DateTimeField(
        allow_null=True, help_text="When a probe attempt will decide whether to resume."
    )
    pause_reason = serializers.CharField(allow_blank=True)


class WebhookCreatedOutput(WebhookOutput):
    secret = serializers.CharField(
        help_text="The signing secret (whsec_…). Shown only in this response: store it now."
    )


class AttemptOutput(serializers.Serializer):
    number = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    duration_ms = serializers.IntegerField()
    status_code = serializers.IntegerField(allow_null=True)
    succeeded = serializers.BooleanField()
    error = serializers.CharField(allow_blank=True)
    response_excerpt = serializers.CharField(allow_blank=True)
    remote_ip = serializers.CharField(allow_blank=True)


class DeliveryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.CharField()
    event_type = serializers.CharField()
    tenant_id = serializers.CharField(allow_null=True)
    occurred_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    attempt_count = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField(allow_blank=True)
    redelivery_of = serializers.IntegerField(allow_null=True)
    requested_by = serializers.CharField(allow_blank=True)
    attempts = AttemptOutput(many=True)


WebhookPageOutput = page_output("WebhookPageOutput", WebhookOutput)
DeliveryPageOutput = page_output("DeliveryPageOutput", DeliveryOutput)


def webhook_data(subscription: WebhookSubscription) -> dict[str, Any]:
    return {
        **services.webhook_snapshot(subscription),
        "created_at": subscription.created_at,
        "created_by": subscription.created_by,
        "updated_at": subscription.updated_at,
        "failure_streak": subscription.failure_streak,
        "paused_at": subscription.paused_at,
        "paused_until": subscription.paused_until,
        "pause_reason": subscription.pause_reason,
    }


def delivery_data(delivery: WebhookDelivery) -> dict[str, Any]:
    pending = delivery.status == DeliveryStatus.PENDING
    return {
        "id": delivery.pk,
        "event_id": delivery.event_id,
        "event_type": delivery.event.type,
        "tenant_id": delivery.event.tenant_id,
        "occurred_at": delivery.event.occurred_at,
        "status": delivery.status,
        "attempt_count": delivery.attempt_count,
        "next_attempt_at": delivery.next_attempt_at if pending else None,
        "created_at": delivery.created_at,
        "finished_at": delivery.finished_at,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "redelivery_of": delivery.redelivery_of_id,
        "requested_by": delivery.requested_by,
        "attempts": [
            {
                "number": attempt.number,
                "started_at": attempt.started_at,
                "duration_ms": attempt.duration_ms,
                "status_code": attempt.status_code,
                "succeeded": attempt.succeeded,
                "error": attempt.error,
                "response_excerpt": attempt.response_excerpt,
                "remote_ip": attempt.remote_ip,
            }
            for attempt in delivery.attempts.all()
        ],
    }


def _bool_param(request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    if raw in ("true", "false"):
        return raw == "true"
    raise InvalidInput(
        f"{name} must be true or false.",
        code="invalid_filter",
        errors=[finding("invalid_filter", f"/{name}", "Expected true or false.")],
    )


def _status_param(request) -> str | None:
    raw = request.query_params.get("status") or None
    if raw is not None and raw not in DeliveryStatus.values:
        raise InvalidInput(
            "Unknown delivery status.",
            code="invalid_filter",
            errors=[
                finding("invalid_filter", "/status", f"One of {', '.join(DeliveryStatus.values)}.")
            ],
        )
    return raw


# --- views ---


class WebhookListView(RoleApiView):
    @extend_schema(
        operation_id="webhooks_list",
        summary="Webhook subscriptions (a tenant ADMIN sees its tenants' ones)",
        parameters=[
            OpenApiParameter("tenant_id", str),
            OpenApiParameter("active", bool),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="At most 200."),
        ],
        responses={200: WebhookPageOutput, **problems(400, 401, 403, 404)},
    )
    def get(self, request):
        queryset = selectors.webhook_list(
            principal=self.principal,
            tenant_id=request.query_params.get("tenant_id") or None,
            active=_bool_param(request, "active"),
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response([webhook_data(s) for s in page])

    @extend_schema(
        operation_id="webhooks_create",
        summary="Subscribe a URL to events; the answer carries the signing secret, once",
        request=WebhookCreateInput,
        responses={201: WebhookCreatedOutput, **problems(400, 401, 403, 404)},
    )
    def post(self, request):
        data = valid_input(WebhookCreateInput, request.data)
        created = services.webhook_create(principal=self.principal, **data)
        return Response(
            {**webhook_data(created.subscription), "secret": created.secret},
            status=status.HTTP_201_CREATED,
        )


class WebhookDetailView(RoleApiView):
    @extend_schema(
        operation_id="webhooks_retrieve",
        responses={200: WebhookOutput, **problems(401, 403, 404)},
    )
    def get(self, request, webhook_id: str):
        subscription = selectors.webhook_get(principal=self.principal, webhook_id=webhook_id)
        return Response(webhook_data(subscription))

    @extend_schema(
        operation_id="webhooks_update",
        request=WebhookUpdateInput,
        responses={200: WebhookOutput, **problems(400, 401, 403, 404)},
    )
    def patch(self, request, webhook_id: str):
        data = valid_input(WebhookUpdateInput, request.data)
        subscription = services.webhook_update(
            principal=self.principal, webhook_id=webhook_id, **data
        )
        return Response(webhook_data(subscription))

    @extend_schema(
        operation_id="webhooks_destroy",
        responses={204: None, **problems(401, 403, 404)},
    )
    def delete(self, request, webhook_id: str):
        services.webhook_delete(principal=self.principal, webhook_id=webhook_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveryListView(RoleApiView):
    @extend_schema(
        operation_id="webhooks_deliveries_list",
        summary="Deliveries of one webhook, newest first, each with every attempt",
        parameters=[
            OpenApiParameter("status", str, enum=DeliveryStatus.values),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int, description="At most 200."),
        ],
        responses={200: DeliveryPageOutput, **problems(400, 401, 403, 404)},
    )
    def get(self, request, webhook_id: str):
        queryset = selectors.delivery_list(
            principal=self.principal, webhook_id=webhook_id, status=_status_param(request)
        )
        paginator = Pagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response([delivery_data(d) for d in page])


class WebhookRedeliverView(RoleApiView):
    @extend_schema(
        operation_id="webhooks_redeliver",
        summary="Send a delivered or failed event again (same webhook-id)",
        request=None,
        responses={202: DeliveryOutput, **problems(401, 403, 404, 409, 429)},
    )
    def post(self, request, webhook_id: str, delivery_id: str):
        valid_input(NoInput, request.data or {})
        ratelimit.enforce(request, "webhook_redeliver")
        delivery = services.delivery_redeliver(
            principal=self.principal, webhook_id=webhook_id, delivery_id=delivery_id
        )
        return Response(delivery_data(delivery), status=status.HTTP_202_ACCEPTED)


class WebhookResumeView(RoleApiView):
    @extend_schema(
        operation_id="webhooks_resume",
        summary="Resume a webhook its circuit breaker paused; waiting deliveries go out now",
        request=None,
        responses={200: WebhookOutput, **problems(401, 403, 404, 409)},
    )
    def post(self, request, webhook_id: str):
        valid_input(NoInput, request.data or {})
        subscription = services.webhook_resume(principal=self.principal, webhook_id=webhook_id)
        return Response(webhook_data(subscription))
