from django.urls import path

from webhooks import api

urlpatterns = [
    path("admin/webhooks", api.WebhookListView.as_view(), name="webhook-list"),
    path("admin/webhooks/<str:webhook_id>", api.WebhookDetailView.as_view(), name="webhook-detail"),
    path(
        "admin/webhooks/<str:webhook_id>/deliveries",
        api.WebhookDeliveryListView.as_view(),
        name="webhook-deliveries",
    ),
    path(
        "admin/webhooks/<str:webhook_id>/deliveries/<str:delivery_id>/redeliver",
        api.WebhookRedeliverView.as_view(),
        name="webhook-redeliver",
    ),
]
