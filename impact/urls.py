from django.urls import path

from impact import api, views
from onboarding.doors import two_doors

urlpatterns = [
    path(
        "admin/tenants/<str:tenant_id>/samples",
        two_doors(api=api.SampleSetView.as_view(), page=views.samples_page),
        name="tenant-samples",
    ),
]
