"""Pages without an API twin. Included before the apps' URLs (onboarding/urls.py)."""

from django.contrib.auth import views as auth_views
from django.urls import path
from django.views.generic import RedirectView

from onboarding import page_views

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/tenants", permanent=False), name="home"),
    path(
        "login",
        auth_views.LoginView.as_view(template_name="login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("logout", page_views.logout_page, name="logout"),
    path("admin/packs", page_views.packs_index, name="packs-page"),
    path("ops", page_views.ops_page, name="ops-page"),
]
