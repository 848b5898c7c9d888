"""Benchmarks, reported as ratios against a baseline measured in the same run.

    python3 scripts/dev.py bench

consent: the whole consent pipeline (claim the row, build the HTML from the frozen inputs,
WeasyPrint to PDF/A, count pages, hash, store, audit) against WeasyPrint rendering the same
HTML directly. Target: under 1.3x. Runs on a throw-away SQLite database in a temp folder.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="offlabel-bench-"))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "offlabel.settings",
            "OFFLABEL_VAR_DIR": str(workdir),
            "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
            "CELERY_BROKER_URL": "filesystem://",
        }
    )
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_studies", verbosity=0)
    call_command("load_rules", verbosity=0)

    from weasyprint import HTML

    from accounts.services import demo_seed
    from consent.models import ConsentDocument
    from consent.services import consent_html, consent_render, consent_request
    from evidence.models import Study
    from prescriptions.services import evidence_attach, patient_create, request_create
    from regulatory.services import pathway_choose
    from tests.prescriptions.conftest import COMPLETE_PROFILE, IDENTITY, REGIMEN

    accounts = demo_seed()  # a generated password; the benchmark never signs in
    physician = accounts.hospital.users.get(username="demo.physician1")
    documents = []
    for i in range(
        ROUNDS + 1
    ):  # distinct requests: the pipeline never renders the same inputs twice
        patient = patient_create(
            actor=physician, profile={**COMPLETE_PROFILE, "age_years": 60 + i}, identity=IDENTITY
        )
        request = request_create(actor=physician, patient=patient, fields=REGIMEN)
        for ref in (63, 82, 66):
            evidence_attach(
                actor=physician, request=request, study=Study.objects.get(reference=ref)
            )
        pathway_choose(actor=physician, request=request, pathway_code="gb_gmc_off_label")
        documents.append(consent_request(actor=physician, request=request, language="it"))

    consent_render(documents[0].pk)  # warm-up (fonts, templates) for both measurements
    direct, pipeline = [], []
    for document in documents[1:]:
        html = consent_html(ConsentDocument.objects.get(pk=document.pk))
        start = time.perf_counter()
        HTML(string=html).write_pdf(pdf_variant="pdf/a-3b")
        direct.append(time.perf_counter() - start)
        start = time.perf_counter()
        consent_render(document.pk)
        pipeline.append(time.perf_counter() - start)
    d, p = statistics.median(direct), statistics.median(pipeline)
    print(
        f"consent render, {ROUNDS} rounds, medians: WeasyPrint direct {d * 1000:.0f} ms, "
        f"whole pipeline {p * 1000:.0f} ms, ratio {p / d:.2f}x (target < 1.3x)"
    )


if __name__ == "__main__":
    main()
