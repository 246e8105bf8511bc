"""Django's user admin with the username rules of tenants.identity: a refused name is a form
error, not a server error from the model guard."""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from onboarding.errors import ServiceError
from tenants.identity import check_username, existing_identity


def _clean_username(form) -> str:
    username = form.cleaned_data.get("username")
    try:
        check_username(username)
    except ServiceError as exc:
        raise forms.ValidationError(exc.detail) from None
    existing = existing_identity(username, exclude_pk=form.instance.pk)
    if existing is not None:
        raise forms.ValidationError(f"{username!r} is the same identity as the user {existing!r}.")
    return username


class IdentityCreationForm(AdminUserCreationForm):
    def clean_username(self):
        super().clean_username()
        return _clean_username(self)


class IdentityChangeForm(UserChangeForm):
    def clean_username(self):
        return _clean_username(self)


class IdentityUserAdmin(UserAdmin):
    form = IdentityChangeForm
    add_form = IdentityCreationForm


admin.site.unregister(get_user_model())
admin.site.register(get_user_model(), IdentityUserAdmin)
