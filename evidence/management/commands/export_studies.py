import json
from typing import Any

from django.core.management.base import BaseCommand

from evidence.selectors import study_detail_queryset
from evidence.serializers import StudyDetailSerializer
from evidence.services import json_ready


class Command(BaseCommand):
    help = "Print the study database as a JSON list, one object per study."

    def handle(self, *args: Any, **options: Any) -> None:
        studies = study_detail_queryset().order_by("reference", "pk")
        data = json_ready(StudyDetailSerializer(studies, many=True).data)
        self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
