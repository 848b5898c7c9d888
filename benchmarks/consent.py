"""The consent pipeline in-process, against WeasyPrint rendering the same HTML directly.

The pipeline is ``consent_render``: claim the row, build the HTML from the frozen inputs,
WeasyPrint to PDF/A, count pages, hash, store, audit. Target: under 1.3x.
"""

from __future__ import annotations

import statistics
import time
from unittest import mock

from benchmarks.dataset import Cast
from benchmarks.results import Row, ms, ratio
from consent.models import ConsentDocument

TARGET = 1.3


def consent_documents(cast: Cast, count: int, *, language: str = "it") -> list[ConsentDocument]:
    """Queued consent forms through the real services, for distinct invented patients (the
    pipeline never renders the same inputs twice). Nothing is sent to the broker here: the
    caller decides when, and to which workers."""
    from consent.services import consent_request
    from evidence.models import Study
    from prescriptions.services import evidence_attach, patient_create, request_create
    from regulatory.services import pathway_choose
    from tests.prescriptions.conftest import COMPLETE_PROFILE, IDENTITY, REGIMEN

    physician = cast.physicians[0]
    studies = list(Study.objects.filter(reference__in=(63, 82, 66)))
    documents = []
    # The benchmark renders in process: nothing is published to the broker.
    with mock.patch("offlabel.rendering._publish"):
        for i in range(count):
            patient = patient_create(
                actor=physician,
                profile={**COMPLETE_PROFILE, "age_years": 40 + i % 60},
                identity=IDENTITY,
            )
            request = request_create(actor=physician, patient=patient, fields=REGIMEN)
            for study in studies:
                evidence_attach(actor=physician, request=request, study=study)
            pathway_choose(actor=physician, request=request, pathway_code="gb_gmc_off_label")
            documents.append(consent_request(actor=physician, request=request, language=language))
    return documents


def consent_benchmark(cast: Cast, *, rounds: int) -> list[Row]:
    """The baseline is what the pipeline cannot do without: WeasyPrint rendering the same HTML
    and pyHanko sealing the result with the same certificate and TSA (issue 16: every PDF is
    sealed); the ratio is what claiming, storing, hashing and auditing add."""
    from weasyprint import HTML

    from consent.services import consent_html, consent_render
    from signing.pades import pdf_seal

    documents = consent_documents(cast, rounds + 1)
    consent_render(documents[0].pk)  # warm-up (fonts, templates, TSA) for both measurements
    direct: list[float] = []
    pipeline: list[float] = []
    for i, document in enumerate(documents[1:]):
        html = consent_html(ConsentDocument.objects.get(pk=document.pk))
        # Alternating which goes first, so a drift in the machine's load hits both alike.
        for measure in (("direct", "pipeline"), ("pipeline", "direct"))[i % 2]:
            start = time.perf_counter()
            if measure == "direct":
                pdf = HTML(string=html).write_pdf(pdf_variant="pdf/a-3b", pdf_tags=True)
                assert pdf is not None
                pdf_seal(pdf, document_id="BENCH")
                direct.append(time.perf_counter() - start)
            else:
                consent_render(document.pk)
                pipeline.append(time.perf_counter() - start)
    d, p = statistics.median(direct), statistics.median(pipeline)
    return [
        Row(
            what=f"Consent PDF, whole pipeline in-process, sealed, median of {rounds}",
            baseline=f"WeasyPrint on the same HTML, then pyHanko's PAdES B-T seal: {ms(d)}",
            measured=ms(p),
            ratio=ratio(p / d),
            target=f"< {TARGET:g}x",
            met=p / d < TARGET,
        )
    ]
