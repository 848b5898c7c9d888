from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.functional import cached_property


class Hospital(models.Model):
    """A site. Every clinical record belongs to exactly one hospital."""

    name = models.CharField(max_length=200, unique=True)
    code = models.SlugField(max_length=32, unique=True, help_text="Short code used in pseudonyms.")
    country = models.CharField(
        max_length=2, help_text="ISO 3166-1 alpha-2 code of the jurisdiction, e.g. IT, FR."
    )
    city = models.CharField(max_length=120, blank=True)
    is_demo = models.BooleanField(
        default=False, help_text="Invented data for demonstration; never a real hospital."
    )
    dispense_early_window_days = models.PositiveSmallIntegerField(
        default=3,
        help_text="A cycle may be dispensed at most this many days before it starts.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Department(models.Model):
    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="departments")
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["hospital__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["hospital", "name"], name="department_unique_per_hospital"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.hospital.code})"


class User(AbstractUser):
    """A person who signs in. Belongs to one hospital; only system superusers may have none."""

    hospital = models.ForeignKey(
        Hospital, on_delete=models.PROTECT, related_name="users", null=True, blank=True
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="users", null=True, blank=True
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(hospital__isnull=False) | Q(is_superuser=True),
                name="user_has_hospital_unless_superuser",
            )
        ]

    @cached_property
    def role_set(self) -> frozenset[str]:
        """The role (group) names, read once per loaded user, like Django's permission cache:
        a page asks several times (header, menus, scoping) and pays one query. Changing this
        instance's groups clears it (``accounts.apps``); a request loads its user afresh."""
        from accounts.backends import groups_load  # with the roles' permissions, one query

        return groups_load(self)

    @property
    def role_names(self) -> list[str]:
        return sorted(self.role_set)

    def has_role(self, role: str) -> bool:
        return role in self.role_set
