from django.urls import path

from sso import views

urlpatterns = [
    path("login", views.login_page, name="login"),
    path("logout", views.logout_page, name="logout"),
    path("oidc/login", views.oidc_login, name="oidc-login"),
    path("oidc/callback", views.oidc_callback, name="oidc-callback"),
]
