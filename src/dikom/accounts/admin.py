from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from dikom.accounts.models import ApiKey, Membership, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("municipality",)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "is_superuser", "is_demo", "is_locked")
    list_filter = ("is_superuser", "is_active", "is_demo")
    inlines = [MembershipInline]
    readonly_fields = ("failed_login_count", "locked_until", "last_login", "date_joined")

    @admin.display(boolean=True, description=_("locked"))
    def is_locked(self, obj: User) -> bool:
        return obj.is_locked


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
