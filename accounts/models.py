from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.functional import cached_property
from django_otp.models import Device, TimestampMixin

# The zone a hospital of each country is in when nobody says otherwise (a country with several
# zones gets its most populous one; the administrator corrects it).
COUNTRY_TIME_ZONES = {
    "IT": "Europe/Rome",
    "FR": "Europe/Paris",
    "ES": "Europe/Madrid",
    "DE": "Europe/Berlin",
    "GB": "Europe/London",
    "US": "America/New_York",
}


def time_zone_validate(value: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            gettext("%(zone)s is not an IANA time zone (e.g. Europe/Rome).") % {"zone": value}
        ) from None


class Hospital(models.Model):
    """A site. Every clinical record belongs to exactly one hospital."""

    name = models.CharField(max_length=200, unique=True)
    code = models.SlugField(max_length=32, unique=True, help_text="Short code used in pseudonyms.")
    country = models.CharField(
        max_length=2, help_text="ISO 3166-1 alpha-2 code of the jurisdiction, e.g. IT, FR."
    )
    city = models.CharField(max_length=120, blank=True)
    time_zone = models.CharField(
        max_length=64,
        default="Europe/Rome",
        validators=[time_zone_validate],
        help_text="IANA time zone of the hospital (e.g. Europe/Rome): the times of its files "
        "(CSV, PDF) are written in it, with their offset.",
    )
    is_demo = models.BooleanField(
        default=False, help_text="Invented data for demonstration; never a real hospital."
    )
    dispense_early_window_days = models.PositiveSmallIntegerField(
        default=3,
        help_text="A cycle may be dispensed at most this many days before it starts.",
    )
    # What the consent form prints (issue 13): a form without a number the patient can call
    # at night is not given to a patient; the data-protection notice (GDPR arts. 13-14) names
    # the controller, the DPO's contact and how long records are kept.
    emergency_phone_24h = models.CharField(
        "24-hour contact telephone",
        max_length=40,
        blank=True,
        help_text="Printed on every consent form; a department's own number takes precedence. "
        "Consent forms cannot be prepared without one.",
    )
    data_controller = models.CharField(
        "data controller",
        max_length=200,
        blank=True,
        help_text="Legal name of the data controller (GDPR art. 13); blank: the hospital's name.",
    )
    dpo_contact = models.CharField(
        "data protection officer contact",
        max_length=300,
        blank=True,
        help_text="E-mail or postal address of the DPO, printed on the consent form.",
    )
    records_retention_years = models.PositiveSmallIntegerField(
        "medical records retention (years)",
        null=True,
        blank=True,
        help_text="As the hospital's records policy sets it; blank: the form says records are "
        "kept as long as the law on medical records requires.",
    )
    # Issue 16: how its staff sign in. The provider's claims name the hospital (OIDC_* settings).
    local_password_login = models.BooleanField(
        "local passwords allowed",
        default=True,
        help_text="Staff may sign in with a password kept by offlabel. Off: only the hospital's "
        "OpenID Connect provider.",
    )
    oidc_create_users = models.BooleanField(
        "create users at first sign-in",
        default=False,
        help_text="A person the provider vouches for, unknown here, is created at first sign-in "
        "with the roles the claims give. Off: unknown people are refused.",
    )
    mfa_required_roles = models.JSONField(
        "roles that must use a second factor",
        null=True,
        blank=True,
        help_text='Role codes (e.g. ["pharmacist", "hospital_admin"]); empty: the '
        "deployment's OFFLABEL_MFA_REQUIRED_ROLES.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Department(models.Model):
    hospital = models.ForeignKey(Hospital, on_delete=models.PROTECT, related_name="departments")
    name = models.CharField(max_length=200)
    emergency_phone_24h = models.CharField(
        "24-hour contact telephone",
        max_length=40,
        blank=True,
        help_text="The department's own 24-hour number (e.g. the haematology ward); printed on "
        "the consent forms of its physicians' patients instead of the hospital's.",
    )

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
    """A person who signs in. Belongs to one hospital; only system superusers and national
    rules stewards (above hospitals: they edit the rules every hospital shares) have none."""

    hospital = models.ForeignKey(
        Hospital, on_delete=models.PROTECT, related_name="users", null=True, blank=True
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="users", null=True, blank=True
    )
    # Issue 14: a hospital's regulatory officer could edit the national rules of every hospital.
    # A steward belongs to no hospital, so no hospital's staff can be one, and sees no hospital's
    # clinical records (scoping gives a user without a hospital nothing).
    is_rule_steward = models.BooleanField(
        "national rules steward",
        default=False,
        help_text="Edits the national rules; belongs to no hospital (role rule_steward too).",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(hospital__isnull=False)
                | Q(is_superuser=True)
                | Q(is_rule_steward=True),
                name="user_has_hospital_unless_superuser",
            ),
            models.CheckConstraint(
                condition=Q(is_rule_steward=False) | Q(hospital__isnull=True),
                name="user_rule_steward_has_no_hospital",
            ),
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


class PasskeyCredential(TimestampMixin, Device):
    """A passkey (WebAuthn credential) the user registered as a second factor.

    A django-otp device, so a passkey sign-in is recorded the way a TOTP one is
    (``django_otp.login``: ``request.user.is_verified()``) and ``devices_for_user`` lists it;
    it accepts no typed code (``verify_token`` stays False). The browser proves possession of
    the private key; we keep only its public key and the counter that exposes a cloned
    authenticator.
    """

    # No reverse accessor on User: django-otp's selectors (devices_for_user) are the way in.
    user = models.ForeignKey(
        "accounts.User",
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The user that this device belongs to.",
    )
    credential_id = models.BinaryField(
        max_length=1023, unique=True, help_text="The authenticator's id of the credential."
    )
    public_key = models.BinaryField(help_text="COSE public key the signatures are checked with.")
    sign_count = models.PositiveBigIntegerField(
        default=0, help_text="Signature counter last reported by the authenticator."
    )
    transports = models.JSONField(
        default=list, blank=True, help_text='How the browser reaches it, e.g. ["internal"].'
    )

    class Meta(Device.Meta):
        verbose_name = "passkey"
