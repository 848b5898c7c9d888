"""The consent inputs no longer copy the patient's name and date of birth: each document keeps
the PatientIdentity reference and the hash of what it printed (``identity_sha256``, as
``consent.services.identity_sha256`` computes it), and its ``inputs_hash`` is recomputed over
the new inputs with the template version it was hashed with, so a current form stays current
and a signed one stays signed."""

import hashlib
import json

from django.db import migrations


def _identity_sha256(identity_pk, name, date_of_birth):
    payload = json.dumps(
        {"identity": identity_pk, "name": name, "date_of_birth": date_of_birth},
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _inputs_hash(inputs, version):
    payload = json.dumps(
        {"template": version, "inputs": inputs}, sort_keys=True, ensure_ascii=False
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def strip_identity(apps, schema_editor):
    ConsentDocument = apps.get_model("consent", "ConsentDocument")
    PatientIdentity = apps.get_model("prescriptions", "PatientIdentity")
    for document in ConsentDocument.objects.select_related("request").iterator():
        patient = dict(document.inputs.get("patient") or {})
        if "name" not in patient and "date_of_birth" not in patient:
            continue  # already a reference
        name, born = patient.pop("name", ""), patient.pop("date_of_birth", "")
        identity = PatientIdentity.objects.filter(patient_id=document.request.patient_id).first()
        identity_pk = identity.pk if identity else None
        patient["identity"] = identity_pk
        patient["identity_sha256"] = _identity_sha256(identity_pk, name, born)
        inputs = {**document.inputs, "patient": patient}
        document.inputs = inputs
        document.inputs_hash = _inputs_hash(inputs, document.template_version)
        document.save(update_fields=["inputs", "inputs_hash"])


def restore_identity(apps, schema_editor):
    """Back: the name and date of birth from the identity record, where the hash still
    matches it (else left as a reference: the old form cannot be rebuilt)."""
    ConsentDocument = apps.get_model("consent", "ConsentDocument")
    PatientIdentity = apps.get_model("prescriptions", "PatientIdentity")
    for document in ConsentDocument.objects.iterator():
        patient = dict(document.inputs.get("patient") or {})
        if "identity_sha256" not in patient:
            continue
        identity = PatientIdentity.objects.filter(pk=patient.get("identity")).first()
        if identity is None:
            continue
        name = f"{identity.given_name} {identity.family_name}"
        born = identity.date_of_birth.isoformat() if identity.date_of_birth else ""
        if _identity_sha256(identity.pk, name, born) != patient["identity_sha256"]:
            continue
        patient.pop("identity"), patient.pop("identity_sha256")
        inputs = {**document.inputs, "patient": {**patient, "name": name, "date_of_birth": born}}
        document.inputs = inputs
        document.inputs_hash = _inputs_hash(inputs, document.template_version)
        document.save(update_fields=["inputs", "inputs_hash"])


class Migration(migrations.Migration):
    dependencies = [
        ("consent", "0002_rendered_document"),
        ("prescriptions", "0011_offlabelrequest_lay_summary"),
    ]

    operations = [migrations.RunPython(strip_identity, restore_identity)]
