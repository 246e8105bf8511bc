"""/django-admin/ changes nothing governed (DESIGN §15): users, role bindings, profiles and API
tokens are read-only there — every change goes through identity.services (audit row, webhook
event, four-eyes). DRF's plaintext token admin is removed: tokens are identity's."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from rest_framework.authtoken.models import TokenProxy

from identity.models import ApiToken, Profile
from tenants.models import RoleBinding


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyUserAdmin(ReadOnlyAdmin, UserAdmin):
    list_display = ("username", "email", "is_active", "is_superuser", "last_login")


@admin.register(RoleBinding)
class RoleBindingAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "role", "tenant", "created_at")
    list_filter = ("role",)


@admin.register(Profile)
class ProfileAdmin(ReadOnlyAdmin):
    list_display = ("user", "display_name", "service_account", "deactivated_at")


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "name", "prefix", "scope", "expires_at", "revoked_at")
    exclude = ("digest",)


if admin.site.is_registered(get_user_model()):
    admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), ReadOnlyUserAdmin)
if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)
