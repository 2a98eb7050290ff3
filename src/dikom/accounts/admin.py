from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, SetUnusablePasswordMixin
from django.contrib.auth.models import Group
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from dikom.accounts.models import ApiKey, Membership, User
from dikom.accounts.permission_names import with_translated_permission_labels


class MembershipInline(admin.StackedInline):
    """Stacked, not tabular: a table's inputs have no labels of their own (only column headers) and the
    table of city, unit and role is wider than the content column at 1280 px."""

    model = Membership
    extra = 0
    autocomplete_fields = ("municipality",)


class PasswordChangeForm(AdminPasswordChangeForm):
    """Django's form, with the warning Django appends to the help text in English only, translated."""

    usable_password_help_text = format_lazy(  # type: ignore[assignment]  # lazy: translated per request
        '{}<ul id="id_unusable_warning" class="messagelist"><li class="warning">{}</li></ul>',
        SetUnusablePasswordMixin.usable_password_help_text,
        _("If disabled, the current password for this user will be lost."),
    )


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    change_password_form = PasswordChangeForm
    list_display = ("username", "email", "first_name", "last_name", "is_superuser", "is_demo", "is_locked")
    list_filter = ("is_superuser", "is_active", "is_demo")
    inlines = [MembershipInline]
    readonly_fields = ("failed_login_count", "locked_until", "last_login", "date_joined")

    @admin.display(boolean=True, description=_("locked"))
    def is_locked(self, obj: User) -> bool:
        return obj.is_locked

    def formfield_for_manytomany(self, db_field: Any, request: Any = None, **kwargs: Any) -> Any:
        if db_field.name == "user_permissions":
            kwargs["queryset"] = db_field.remote_field.model.objects.select_related("content_type")
            return with_translated_permission_labels(super().formfield_for_manytomany(db_field, request, **kwargs))
        return super().formfield_for_manytomany(db_field, request, **kwargs)


if admin.site.is_registered(Group):
    admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(DjangoGroupAdmin):
    """Django's group admin, with the permission names in the reader's language."""

    def formfield_for_manytomany(self, db_field: Any, request: Any = None, **kwargs: Any) -> Any:
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        return with_translated_permission_labels(formfield) if db_field.name == "permissions" else formfield


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created by municipality admins (the secret is shown only then); here they can only be viewed."""

    list_display = ("name", "prefix", "municipality", "created_at", "last_used_at", "revoked_at")
    list_filter = ("municipality",)
    readonly_fields = (
        "municipality",
        "name",
        "prefix",
        "scopes",
        "created_by",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )
    exclude = ("secret_hash",)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
