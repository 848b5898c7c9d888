from django.apps import AppConfig


class SigningConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "signing"
    verbose_name = "Sealed documents"

    def ready(self) -> None:
        """With DEBUG off, refuse to start with the invented demo certificate (or one that
        cannot seal): a document sealed with it would prove nothing."""
        from django.conf import settings

        from signing import checks  # noqa: F401  (registers the deploy checks)

        if not settings.DEBUG:
            from signing.pki import production_check

            production_check()
