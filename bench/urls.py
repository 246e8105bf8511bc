from django.urls import include, path
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView


class NoopView(APIView):
    """The baseline: token authentication and a JSON render, nothing else."""

    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"ok": True})


urlpatterns = [
    path("bench/noop", NoopView.as_view(), name="bench-noop"),
    path("", include("console.urls")),
]

handler400 = "onboarding.views.bad_request"
handler403 = "onboarding.views.permission_denied"
handler404 = "onboarding.views.not_found"
handler500 = "onboarding.views.server_error"
