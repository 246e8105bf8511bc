from django.urls import path

from onboarding.doors import page_only, two_doors
from runtime_config import api, views

urlpatterns = [
    path(
        "admin/tenants/<str:tenant_id>/activations",
        two_doors(api=api.ActivationHistoryView.as_view(), page=views.activations_page),
        name="tenant-activations",
    ),
    path(
        "admin/tenants/<str:tenant_id>/convergence",
        two_doors(api=api.ConvergenceView.as_view(), page=views.convergence_page),
        name="tenant-convergence",
    ),
    path("ops", page_only(views.ops_page, api="POST /ops/exceptions/evaluate"), name="ops-page"),
]
