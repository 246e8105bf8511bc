"""`GET /metrics`: the Prometheus text of onboarding.metrics (docs/operability.md).

Protected like the admin API: a token (or a session) whose principal has a platform-wide role
(VIEWER or ADMIN: whoever may read every tenant may read the platform's counters); a tenant-only
principal gets 403 `platform_role_required`, no credentials 401. A scraper uses a token of a
platform VIEWER (`Authorization: Token ...`, Prometheus' `authorization` scrape setting)."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from prometheus_client import CONTENT_TYPE_LATEST
from rest_framework.exceptions import NotAcceptable
from rest_framework.renderers import JSONRenderer

from onboarding import metrics
from onboarding.api import ApiView, problems
from onboarding.principal import require_platform


class MetricsView(ApiView):
    def perform_content_negotiation(self, request, force=False):
        # The answer is Prometheus text whatever the scraper accepts; errors stay problem+json.
        try:
            return super().perform_content_negotiation(request, force)
        except NotAcceptable:
            renderer = JSONRenderer()
            return renderer, renderer.media_type

    @extend_schema(
        operation_id="metrics",
        summary="Prometheus metrics (text exposition format)",
        description="Every metric of docs/operability.md, summed over the server's processes. "
        "Needs a platform-wide role.",
        responses={
            200: OpenApiResponse(OpenApiTypes.STR, description="Prometheus text format 0.0.4"),
            **problems(401, 403),
        },
        tags=["operations"],
    )
    def get(self, request):
        require_platform(self.principal)
        return HttpResponse(metrics.exposition(), content_type=CONTENT_TYPE_LATEST)
