from django.urls import path

from onboarding.doors import two_doors
from webhooks import api, views

urlpatterns = [
    path(
        "admin/webhooks",
        two_doors(api=api.WebhookListView.as_view(), page=views.webhook_list_page),
        name="webhook-list",
    ),
    path(
        "admin/webhooks/<str:webhook_id>",
        two_doors(api=api.WebhookDetailView.as_view(), page=views.webhook_detail_page),
        name="webhook-detail",
    ),
    path(
        "admin/webhooks/<str:webhook_id>/deliveries",
        two_doors(api=api.WebhookDeliveryListView.as_view(), page=views.webhook_deliveries_page),
        name="webhook-deliveries",
    ),
    path(
        "admin/webhooks/<str:webhook_id>/deliveries/<str:delivery_id>/redeliver",
        two_doors(api=api.WebhookRedeliverView.as_view(), page=views.webhook_redeliver_page),
        name="webhook-redeliver",
    ),
    path(
        "admin/webhooks/<str:webhook_id>/resume",
        two_doors(api=api.WebhookResumeView.as_view(), page=views.webhook_resume_page),
        name="webhook-resume",
    ),
]
