from django.apps import AppConfig


class PharmacyConfig(AppConfig):
    name = "pharmacy"
    verbose_name = "Pharmacy: safety checks and dispensing"

    def ready(self) -> None:
        from pharmacy import (
            requirements,  # noqa: F401 - registers the approval guard
            services,  # noqa: F401 - registers the plan-version hook
        )
