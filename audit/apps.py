from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from django.contrib.auth.signals import (
            user_logged_in,
            user_logged_out,
            user_login_failed,
        )

        from audit.auth_events import logged_in_record, logged_out_record, login_failed_record

        # Django announces sign-ins, sign-outs and failures only by these signals.
        user_logged_in.connect(logged_in_record, dispatch_uid="audit.logged_in")
        user_logged_out.connect(logged_out_record, dispatch_uid="audit.logged_out")
        user_login_failed.connect(login_failed_record, dispatch_uid="audit.login_failed")
