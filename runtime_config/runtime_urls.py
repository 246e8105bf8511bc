from django.urls import path

from runtime_config import runtime_api

urlpatterns = [
    path(
        "runtime/tenants/<str:tenant_id>/config",
        runtime_api.RuntimeConfigView.as_view(),
        name="runtime-config",
    ),
    path("ops/exceptions/evaluate", runtime_api.EvaluateView.as_view(), name="exceptions-evaluate"),
]
