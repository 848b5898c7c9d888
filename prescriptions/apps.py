from django.apps import AppConfig


class PrescriptionsConfig(AppConfig):
    name = "prescriptions"
    verbose_name = "Off-label requests"

    def ready(self) -> None:
        from prescriptions import requirements  # noqa: F401 - registers the workflow guards
