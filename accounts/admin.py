from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from accounts.models import Department, Hospital, User


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
