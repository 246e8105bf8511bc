from django.urls import path

from onboarding.doors import two_doors
from runtime_config import runtime_api, views

urlpatterns = [
    path(
        "runtime/tenants/<str:tenant_id>/config",
        two_doors(api=runtime_api.RuntimeConfigView.as_view(), page=views.runtime_config_page),
        name="runtime-config",
    ),
    path(
        "ops/exceptions/evaluate",
        two_doors(api=runtime_api.EvaluateView.as_view(), page=views.evaluate_page),
        name="exceptions-evaluate",
    ),
]
