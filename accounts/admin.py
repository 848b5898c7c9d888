from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import Department, Hospital, PasskeyCredential, User


@admin.register(Hospital)
class HospitalAdmin(admin.ModelAdmin[Hospital]):
    # All fields are editable (no fieldsets); the dispensing window shows in the list too.
    list_display = [
        "name",
        "code",
        "country",
        "city",
        "emergency_phone_24h",
        "dispense_early_window_days",
        "is_demo",
    ]
    search_fields = ["name", "code"]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin[Department]):
    list_display = ["name", "hospital", "emergency_phone_24h"]
    list_filter = ["hospital"]


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "first_name", "last_name", "hospital", "is_active"]
    list_filter = ["hospital", "groups", "is_active"]
    fieldsets = (
        *DjangoUserAdmin.fieldsets,  # type: ignore[misc]
        ("Hospital", {"fields": ("hospital", "department")}),
    )


@admin.register(PasskeyCredential)
class PasskeyCredentialAdmin(admin.ModelAdmin[PasskeyCredential]):
    """A lost passkey is removed here by a system administrator (the user's own page refuses to
    remove the last factor of someone who must have one)."""

    list_display = ["name", "user", "created_at", "last_used_at"]
    search_fields = ["user__username", "name"]
    readonly_fields = ["credential_id", "public_key", "sign_count", "transports"]
