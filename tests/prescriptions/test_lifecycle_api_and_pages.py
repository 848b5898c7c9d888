"""A request's whole life through the REST API and through the pages, audit event by step."""

from django.urls import reverse

from audit.models import AuditEvent
from audit.services import audit_chain_verify
from evidence.models import Study
from prescriptions.models import Gene, OffLabelRequest
from signatures.services import SIGNED_TRANSITIONS
from tests.factories import TEST_PASSWORD
from tests.prescriptions.conftest import COMPLETE_PROFILE

PROFILE_JSON = {
    k: (str(v) if not isinstance(v, int | str) else v) for k, v in COMPLETE_PROFILE.items()
}


def _last_event():
    """The last event of the action itself (a new treatment plan version is recorded with it)."""
    return (
        AuditEvent.objects.exclude(action__in=["plan.version_created", "label_rules.loaded"])
        .order_by("-sequence")
        .first()
    )


def test_whole_life_through_the_api(api_client, physician, pharmacist, studies, rules):
    api_client.force_authenticate(physician)
    patient = api_client.post(
        "/api/v1/patients/",
        {
            **PROFILE_JSON,
            "mutations": {"IDH2": "present"},
            "medications": [
                {"drug_name": "fluconazole", "interaction": "moderate_cyp3a_inhibitor"}
            ],
            # Required since issue 15, and never part of the patient record that is returned.
            "identity": {
                "given_name": "Zebulina",
                "family_name": "Inventatisima",
                "date_of_birth": "1958-03-14",
            },
        },
        format="json",
    )
    assert patient.status_code == 201, patient.content
    assert _last_event().action == "patient.created"
    assert "identity" not in patient.json()
    pid = patient.json()["id"]
    assert patient.json()["mutations"]["IDH2"] == "present" and patient.json()["bsa_m2"] == 1.7
    identity = api_client.put(
        f"/api/v1/patients/{pid}/identity/",
        {
            "given_name": "Zebulina",
            "family_name": "Inventatissima",
            "date_of_birth": "1958-03-14",
        },
        format="json",
    )
    assert identity.status_code == 200 and _last_event().action == "patient.identity_corrected"

    created = api_client.post(
        "/api/v1/requests/",
        {
            "patient": pid,
            "regimen": "azacitidine",
            "ven_target_dose_mg": "200",  # fluconazole (moderate CYP3A): at least 50% less
            "ramp_up": "label_adjusted",  # the label's ramp-up, halved for fluconazole
            "cycles_planned": 4,
            "jurisdiction": "GB",
            "clinical_rationale": "Relapse after intensive induction, unfit for re-induction.",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    rid = created.json()["id"]
    assert _last_event().action == "request.created"

    suggestions = api_client.get(f"/api/v1/requests/{rid}/suggestions/").json()
    assert suggestions[0]["reasons"]
    lou = next(s for s in suggestions if s["reference"] == 82)
    attached = api_client.post(
        f"/api/v1/requests/{rid}/attachments/",
        {"study": lou["study"], "note": "IDH2"},
        format="json",
    )
    assert attached.status_code == 201 and attached.json()["rank_when_attached"] == lou["rank"]
    assert _last_event().action == "request.evidence_attached"

    api_client.force_authenticate(physician)
    routing = api_client.get(f"/api/v1/requests/{rid}/routing/").json()
    recommended = next(a for a in routing["assessments"] if a["recommended"])
    assert recommended["pathway_code"] == "gb_gmc_off_label"
    checklist = api_client.post(
        f"/api/v1/requests/{rid}/pathway/", {"pathway": "gb_gmc_off_label"}, format="json"
    )
    assert checklist.status_code == 201 and _last_event().action == "request.pathway_chosen"
    for item in checklist.json():
        if item["kind"] != "attestation":
            continue
        api_client.force_authenticate(physician if "physician" in item["attesters"] else pharmacist)
        attested = api_client.post(
            f"/api/v1/checklist-items/{item['id']}/attest/", {"note": "ok"}, format="json"
        )
        assert attested.status_code == 200, attested.content
        assert _last_event().action == "checklist.attested"

    def step(client_user, transition, reason="", version=None):
        api_client.force_authenticate(client_user)
        body = {"transition": transition, "reason": reason}
        if transition in SIGNED_TRANSITIONS:  # electronic signatures (issue 16)
            body["reauth_password"] = TEST_PASSWORD
        if version is not None:
            body["version"] = version
        response = api_client.post(f"/api/v1/requests/{rid}/transition/", body, format="json")
        assert response.status_code == 200, (transition, response.content)
        event = _last_event()
        assert event.action == f"request.{transition}" and event.actor == client_user
        return response.json()

    step(physician, "submit")
    step(pharmacist, "start_review")
    step(pharmacist, "request_changes", "Add the date of the last marrow.")
    api_client.force_authenticate(physician)
    current = api_client.get(f"/api/v1/requests/{rid}/").json()
    patched = api_client.patch(
        f"/api/v1/requests/{rid}/",
        {"cycles_planned": 6, "version": current["version"]},
        format="json",
    )
    assert patched.status_code == 200 and patched.json()["cycles_planned"] == 6
    # The plan changed (6 cycles): a new version, and the attestations made on the old one
    # before approval are withdrawn; the prescriber and the pharmacist attest again.
    recent = [e.action for e in AuditEvent.objects.order_by("-sequence")[:12]]
    assert "request.updated" in recent and "plan.version_created" in recent
    assert "checklist.attestation_withdrawn" in recent
    for item in api_client.get(f"/api/v1/requests/{rid}/checklist/").json():
        if item["kind"] != "attestation" or item.get("attested_by"):
            continue
        api_client.force_authenticate(physician if "physician" in item["attesters"] else pharmacist)
        again = api_client.post(
            f"/api/v1/checklist-items/{item['id']}/attest/", {"note": "ok"}, format="json"
        )
        assert again.status_code == 200, again.content
    api_client.force_authenticate(physician)
    stale = api_client.patch(
        f"/api/v1/requests/{rid}/",
        {"cycles_planned": 5, "version": current["version"]},
        format="json",
    )
    assert stale.status_code == 409
    api_client.force_authenticate(physician)
    queued = api_client.post(f"/api/v1/requests/{rid}/consents/", {"language": "it"}, format="json")
    assert queued.status_code == 202 and queued.json()["status"] == "queued"
    from consent.services import consent_render

    consent_render(queued.json()["id"])  # what the Celery worker does with the queued task
    polled = api_client.get(queued.json()["status_url"]).json()
    assert polled["status"] == "ready" and polled["pages"] >= 2
    signed = api_client.post(
        f"/api/v1/consents/{polled['id']}/sign/",
        {"method": "on_screen", "reauth_password": TEST_PASSWORD},
        format="json",
    )
    assert signed.status_code == 200 and signed.json()["signed"]
    assert _last_event().action == "consent.signed"
    step(physician, "resubmit")
    step(pharmacist, "start_review")
    result = step(pharmacist, "approve", "Conditions of Law 94/98 met.")
    assert result["status"] == "approved"
    api_client.force_authenticate(pharmacist)
    manual = api_client.post(
        f"/api/v1/requests/{rid}/transition/", {"transition": "start_dispensing"}, format="json"
    )
    assert manual.status_code == 400
    assert "happens by itself when cycle 1 is dispensed" in manual.json()["detail"]
    tls = api_client.put(
        f"/api/v1/requests/{rid}/tls/",
        {
            "first_dose_at": "2026-12-01T09:00:00+01:00",
            "hydration": True,
            "antihyperuricaemic": "allopurinol",
            "chemistry_corrected": True,
        },
        format="json",
    )
    assert tls.status_code == 200, tls.content
    # fluconazole: the label's 100/200/400 halved, 50/100/200 mg, then 200 mg for 25 days:
    # 1 x 50 mg, then 1 + 26 x 2 tablets of 100 mg.
    dispensed = api_client.post(
        f"/api/v1/requests/{rid}/dispensations/",
        {
            "cycle": 1,
            "lines": [
                {"strength_mg": "100", "quantity": 53, "lot": "L1", "expiry": "2031-01-31"},
                {"strength_mg": "50", "quantity": 1, "lot": "L2", "expiry": "2031-01-31"},
            ],
            "reauth_password": TEST_PASSWORD,
        },
        format="json",
    )
    assert dispensed.status_code == 201, dispensed.content
    assert api_client.get(f"/api/v1/requests/{rid}/").json()["status"] == "active"
    final = step(physician, "complete", "Four cycles given.")
    assert final["status"] == "completed"

    history = api_client.get(f"/api/v1/requests/{rid}/history/").json()
    assert [h["to_status"] for h in history] == [
        "submitted",
        "in_review",
        "changes_requested",
        "resubmitted",
        "in_review",
        "approved",
        "active",
        "completed",
    ]
    summary = api_client.get(f"/api/v1/requests/{rid}/evidence-summary/").json()
    assert summary["n_studies"] == 1 and summary["n_patients"] == 48
    assert audit_chain_verify().ok


def test_guard_failure_and_conflict_are_clear_over_the_api(
    api_client, physician, pharmacist, draft
):
    api_client.force_authenticate(pharmacist)
    refused = api_client.post(
        f"/api/v1/requests/{draft.pk}/transition/", {"transition": "submit"}, format="json"
    )
    assert refused.status_code == 400 and "role does not allow" in refused.json()["detail"]
    api_client.force_authenticate(physician)
    api_client.post(
        f"/api/v1/requests/{draft.pk}/transition/", {"transition": "submit"}, format="json"
    )
    again = api_client.post(
        f"/api/v1/requests/{draft.pk}/transition/", {"transition": "submit"}, format="json"
    )
    assert again.status_code == 409 and "is now 'Submitted'" in again.json()["detail"]


def _profile_post_data(**overrides):
    data = {k: ("" if v is None else str(v)) for k, v in COMPLETE_PROFILE.items()}
    data.update({f"mut_{gene.value}": "not_tested" for gene in Gene})
    data["mut_IDH2"] = "present"
    data["med_0_name"] = "posaconazole"
    data["identity-given_name"] = "Zebulina"
    data["identity-family_name"] = "Inventatissima"
    data["identity-date_of_birth"] = "1958-03-14"
    data.update(overrides)
    return data


def test_whole_life_through_the_pages(client, physician, pharmacist, studies, rules):
    client.force_login(physician)
    response = client.post(reverse("requests:new"), _profile_post_data())
    offlabel = OffLabelRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "requests:step-regimen", args=[offlabel.pk]
    )
    med = offlabel.patient.medications.get()
    assert med.interaction == "strong_cyp3a_inhibitor"  # filled from the known-drug list

    regimen = {  # with posaconazole: 70 mg after a 10/20/50/70 mg ramp-up
        "regimen": "azacitidine",
        "ven_target_dose_mg": "70",
        "ramp_up": "custom",
        "ramp_up_custom": "10/20/50/70 mg, days 1-4, with posaconazole",
        "cycles_planned": "4",
        "cycle_length_days": "28",
        "jurisdiction": "GB",
        "clinical_rationale": "Relapse after induction; unfit for intensive re-induction.",
        "version": str(offlabel.version),
    }
    response = client.post(reverse("requests:step-regimen", args=[offlabel.pk]), regimen)
    assert response.status_code == 302
    evidence = client.get(reverse("requests:step-evidence", args=[offlabel.pk]))
    assert b"Lou 2020 [82]" in evidence.content
    lou = Study.objects.get(reference=82)
    panel = client.post(
        reverse("requests:attach", args=[offlabel.pk]),
        {"study": lou.pk, "note": "IDH2"},
        HTTP_HX_REQUEST="true",
    )
    assert b"<html" not in panel.content and b"Attached (1)" in panel.content
    pathway_page = client.get(reverse("regulatory:step-pathway", args=[offlabel.pk]))
    assert b"General Medical Council" in pathway_page.content or b"GMC" in pathway_page.content
    assert b"recommended" in pathway_page.content
    chosen = client.post(
        reverse("regulatory:step-pathway", args=[offlabel.pk]), {"pathway": "gb_gmc_off_label"}
    )
    assert chosen.status_code == 302 and offlabel.checklist.exists()
    for item in offlabel.checklist.filter(kind="attestation"):
        if "physician" in item.attesters:
            client.post(reverse("regulatory:attest", args=[offlabel.pk, item.pk]), {"note": "yes"})
    review = client.get(reverse("requests:step-review", args=[offlabel.pk]))
    assert b"Submit to the pharmacy" in review.content
    offlabel.refresh_from_db()
    client.post(
        reverse("requests:transition", args=[offlabel.pk]),
        {"transition": "submit", "version": offlabel.version},
    )
    offlabel.refresh_from_db()
    assert offlabel.status == "submitted"

    client.force_login(pharmacist)
    queue = client.get(reverse("requests:queue"))
    assert offlabel.reference.encode() in queue.content
    for item in offlabel.checklist.filter(kind="attestation", attested_by=None):
        client.post(reverse("regulatory:attest", args=[offlabel.pk, item.pk]), {"note": "checked"})
    client.force_login(physician)
    client.post(reverse("consent:prepare", args=[offlabel.pk]), {"language": "fr"})
    from consent.models import ConsentDocument
    from consent.services import consent_render

    document = consent_render(ConsentDocument.objects.get(request=offlabel).pk)  # the worker's job
    panel = client.get(reverse("consent:panel", args=[offlabel.pk])).content.decode()
    assert "Ready" in panel and "Download PDF" in panel
    download = client.get(reverse("consent:download", args=[document.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content)[:5] == b"%PDF-"
    client.post(
        reverse("consent:sign", args=[document.pk]),
        {"method": "on_screen", "witness_name": "N. Invented"},
    )
    assert AuditEvent.objects.filter(action="consent.signed").exists()
    client.force_login(pharmacist)
    assert not offlabel.checklist.filter(kind="attestation", attested_by=None).exists()
    for transition, reason, status in [
        ("start_review", "", "in_review"),
        ("approve", "Evidence adequate.", "approved"),
    ]:
        offlabel.refresh_from_db()
        client.post(
            reverse("requests:transition", args=[offlabel.pk]),
            {"transition": transition, "version": offlabel.version, "reason": reason},
        )
        offlabel.refresh_from_db()
        assert offlabel.status == status
        assert AuditEvent.objects.order_by("-sequence")[0].action == f"request.{transition}"
    pharmacy = client.get(reverse("pharmacy:request", args=[offlabel.pk])).content.decode()
    assert "Dose adjusted for posaconazole" in pharmacy and "Start dispensing" not in pharmacy
    client.post(
        reverse("pharmacy:tls", args=[offlabel.pk]),
        {
            "first_dose_at": "2026-12-01T09:00",
            "hydration": "on",
            "antihyperuricaemic": "allopurinol",
            "chemistry_corrected": "on",
        },
    )
    # 10/20/50 mg ramp-up, then 70 mg (50 + 10 + 10) for 25 days: 26 x 50 mg and 53 x 10 mg.
    lines = [("50", "26"), ("10", "53")]
    form = {"cycle": "1", "payer": "hospital_budget", "note": "", "lines-TOTAL_FORMS": "2"}
    form |= {"lines-INITIAL_FORMS": "0", "lines-MIN_NUM_FORMS": "1", "lines-MAX_NUM_FORMS": "6"}
    for i, (strength, quantity) in enumerate(lines):
        form |= {f"lines-{i}-strength_mg": strength, f"lines-{i}-quantity": quantity}
        form |= {f"lines-{i}-lot": f"LOT-{i}", f"lines-{i}-expiry": "2031-01-31"}
    client.post(reverse("pharmacy:dispense", args=[offlabel.pk]), form)
    offlabel.refresh_from_db()
    assert offlabel.status == "active" and offlabel.dispensations.get().total_mg == 1830
    detail = client.get(reverse("requests:detail", args=[offlabel.pk]))
    for action in (
        "request.created",
        "request.evidence_attached",
        "request.pathway_chosen",
        "checklist.attested",
        "request.submit",
        "request.approve",
    ):
        assert action.encode() in detail.content  # the timeline shows every event
    assert b"Inventatissima" not in detail.content


def test_a_bad_profile_keeps_what_was_typed_and_says_what_is_wrong(client, physician):
    client.force_login(physician)
    response = client.post(reverse("requests:new"), _profile_post_data(weight_kg="900", ecog="7"))
    assert response.status_code == 200
    assert not OffLabelRequest.objects.exists()
    content = response.content.decode()
    assert 'value="Inventatissima"' in content and 'value="162.0"' in content
    assert "less than or equal to 300" in content and "less than or equal to 4" in content


def test_a_stale_page_gets_a_conflict_message(client, physician, pharmacist, draft):
    client.force_login(physician)
    stale = draft.version
    client.post(
        reverse("requests:transition", args=[draft.pk]), {"transition": "submit", "version": stale}
    )
    client.force_login(pharmacist)
    page = client.post(
        reverse("requests:transition", args=[draft.pk]),
        {"transition": "start_review", "version": stale},
        follow=True,
    )
    assert b"changed by someone else" in page.content
    draft.refresh_from_db()
    assert draft.status == "submitted"
