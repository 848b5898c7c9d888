from django.apps import AppConfig


class RegulatoryConfig(AppConfig):
    name = "regulatory"
    verbose_name = "Regulatory pathways"

    def ready(self) -> None:
        from regulatory import requirements  # noqa: F401 - registers the approval guards
