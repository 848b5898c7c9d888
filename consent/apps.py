from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = "Informed consent"

    def ready(self) -> None:
        from consent import (
            requirements,  # noqa: F401 - registers the approval guard
            services,  # noqa: F401 - registers the inputs-changed and plan-version hooks
        )
