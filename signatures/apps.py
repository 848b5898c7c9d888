from django.apps import AppConfig


class SignaturesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "signatures"
    verbose_name = "Electronic signatures"

    def ready(self) -> None:
        from signatures import reauth  # noqa: F401  (connects user_logged_in)
