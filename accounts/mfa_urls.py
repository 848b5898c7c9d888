"""The second-factor pages, under /accounts/2fa/. Names without a namespace, so the signature
pages can send someone to ``passkey-authenticate`` by name."""

from django.urls import path

from accounts import mfa_views

urlpatterns = [
    path("", mfa_views.manage_view, name="mfa-manage"),
    path("enrol/", mfa_views.enrol_view, name="mfa-enrol"),
    path("totp/", mfa_views.totp_enrol_view, name="mfa-totp-enrol"),
    path("verify/", mfa_views.verify_view, name="mfa-verify"),
    path("recovery/", mfa_views.recovery_codes_view, name="mfa-recovery-codes"),
    path(
        "recovery/regenerate/",
        mfa_views.recovery_regenerate_view,
        name="mfa-recovery-regenerate",
    ),
    path(
        "devices/<slug:kind>/<int:pk>/remove/",
        mfa_views.device_remove_view,
        name="mfa-device-remove",
    ),
    path("passkeys/add/", mfa_views.passkey_register_view, name="mfa-passkey-register"),
    path(
        "passkeys/add/options/",
        mfa_views.passkey_register_options_view,
        name="mfa-passkey-register-options",
    ),
    path(
        "passkeys/add/verify/",
        mfa_views.passkey_register_verify_view,
        name="mfa-passkey-register-verify",
    ),
    path("passkey/", mfa_views.passkey_authenticate_view, name="passkey-authenticate"),
    path(
        "passkey/options/",
        mfa_views.passkey_authenticate_options_view,
        name="passkey-authenticate-options",
    ),
    path(
        "passkey/verify/",
        mfa_views.passkey_authenticate_verify_view,
        name="passkey-authenticate-verify",
    ),
]
