from django.conf import settings
from django.contrib.auth.backends import ModelBackend

from identity.selectors import is_service_account


class PasswordBackend(ModelBackend):
    """Django's username and password check, only while LOCAL_LOGIN is on. Off, no password
    opens a session anywhere (the login page, /django-admin/): people sign in through SSO."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not settings.LOCAL_LOGIN:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)

    def user_can_authenticate(self, user) -> bool:
        """Inactive users and service accounts (tokens only, issue 21) open no session, and an
        existing session of theirs is anonymous."""
        return super().user_can_authenticate(user) and not is_service_account(user)
