import json
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand

from evidence.selectors import study_detail_queryset
from evidence.serializers import StudyDetailSerializer


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class Command(BaseCommand):
    help = "Print the study database as a JSON list, one object per study."

    def handle(self, *args: Any, **options: Any) -> None:
        studies = study_detail_queryset().order_by("reference", "pk")
        data = StudyDetailSerializer(studies, many=True).data
        self.stdout.write(json.dumps(data, default=_number, ensure_ascii=False, indent=2))
