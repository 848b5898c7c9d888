from django.apps import AppConfig
from django.db.models.signals import post_migrate

from offlabel.middleware import session_renewed_mark


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Hospitals and accounts"

    def ready(self) -> None:
        # The imports here load models (accounts.services, accounts.mfa, accounts.roles) or
        # read the user model, which Django allows only once the app registry is ready.
        from accounts import checks  # noqa: F401  (registers the deploy checks)
        from accounts.roles import roles_sync_after_migrate

        # Permissions exist only after migrate has run, so groups are synced then.
        post_migrate.connect(roles_sync_after_migrate, dispatch_uid="accounts.roles_sync")

        from axes.signals import user_locked_out

        from accounts.services import lockout_record

        # django-axes announces a lockout only by this signal; the trail must show it.
        user_locked_out.connect(lockout_record, dispatch_uid="accounts.lockout_audit")

        from django.contrib.auth.signals import user_logged_in, user_logged_out

        from accounts import reauth  # noqa: F401  (its receiver marks the sign-in's authentication)
        from accounts.mfa import factor_held_mark

        # Someone who added a second factor of their own accord is asked for it at sign-in.
        user_logged_in.connect(factor_held_mark, dispatch_uid="accounts.mfa_factor_held")

        # A sign-in starts the session's idle time (offlabel.middleware.SessionMiddleware).
        user_logged_in.connect(session_renewed_mark, dispatch_uid="offlabel.session_renewed")

        from accounts.services import api_tokens_revoke_at_logout

        # Every sign-out (the page, the admin) ends the person's API tokens as well.
        user_logged_out.connect(api_tokens_revoke_at_logout, dispatch_uid="accounts.token_revoke")

        from django.contrib.auth import get_user_model
        from django.db.models.signals import m2m_changed

        from accounts.roles import caches_clear

        # A user's roles and permissions are read once per loaded instance; changing that
        # instance's groups or permissions must not leave it answering from the old ones.
        user_model = get_user_model()
        for through in (user_model.groups.through, user_model.user_permissions.through):
            m2m_changed.connect(caches_clear, sender=through, dispatch_uid=f"accounts.{through}")
