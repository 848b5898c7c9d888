"""Every role x every page and endpoint x own / other physician's / other hospital's request.

ALLOW means the action is carried out (2xx, or a redirect that is not to the login page);
DENY means 400/401/403/404 or a redirect to log in, and the data did not change.
"""

import logging

import pytest
from django.urls import reverse

from accounts.roles import Role
from audit.models import AuditEvent
from prescriptions.models import OffLabelRequest
from prescriptions.services import patient_create, request_create
from tests.factories import TEST_PASSWORD, HospitalFactory, UserFactory
from tests.prescriptions.conftest import COMPLETE_PROFILE, IDENTITY, REGIMEN

ALLOW, DENY = "allow", "deny"
ACTORS = [
    "owner",
    "other_physician",
    "pharmacist",
    "hospital_admin",
    "regulatory_officer",
    "foreign_physician",
    "foreign_pharmacist",
    "anonymous",
]


@pytest.fixture
def world(db, studies):
    home = HospitalFactory.create(name="Home Hospital (invented)", code="home")
    away = HospitalFactory.create(name="Away Hospital (invented)", code="away")
    users = {
        "owner": UserFactory.create(username="owner", hospital=home, role=Role.PHYSICIAN),
        "other_physician": UserFactory.create(username="other", hospital=home, role=Role.PHYSICIAN),
        "pharmacist": UserFactory.create(username="pharm", hospital=home, role=Role.PHARMACIST),
        "hospital_admin": UserFactory.create(
            username="admin", hospital=home, role=Role.HOSPITAL_ADMIN
        ),
        "regulatory_officer": UserFactory.create(
            username="reg", hospital=home, role=Role.REGULATORY_OFFICER
        ),
        "foreign_physician": UserFactory.create(
            username="fphys", hospital=away, role=Role.PHYSICIAN
        ),
        "foreign_pharmacist": UserFactory.create(
            username="fpharm", hospital=away, role=Role.PHARMACIST
        ),
        "anonymous": None,
    }
    owner = users["owner"]
    assert owner is not None
    patient = patient_create(actor=owner, profile=COMPLETE_PROFILE, identity=IDENTITY)
    request = request_create(actor=owner, patient=patient, fields=REGIMEN)
    return users, request


# (name, method, url builder, expected per actor in ACTORS order)
def _pages(r):
    return [
        ("dashboard page", "get", reverse("requests:dashboard"), "AAAADAAD"),
        ("request detail page", "get", reverse("requests:detail", args=[r.pk]), "ADAADDDD"),
        ("edit patient step", "get", reverse("requests:step-patient", args=[r.pk]), "ADDDDDDD"),
        ("regimen step", "get", reverse("requests:step-regimen", args=[r.pk]), "ADDDDDDD"),
        ("evidence step", "get", reverse("requests:step-evidence", args=[r.pk]), "ADDDDDDD"),
        ("review step", "get", reverse("requests:step-review", args=[r.pk]), "ADDDDDDD"),
        (
            "identity page",
            "get",
            reverse("requests:patient-identity", args=[r.patient_id]),
            "ADADDDDD",
        ),
        ("queue page", "get", reverse("requests:queue"), "AAAADAAD"),
        ("API request detail", "get", f"/api/v1/requests/{r.pk}/", "ADAADDDD"),
        ("API suggestions", "get", f"/api/v1/requests/{r.pk}/suggestions/", "ADAADDDD"),
        ("API history", "get", f"/api/v1/requests/{r.pk}/history/", "ADAADDDD"),
        ("API attachments", "get", f"/api/v1/requests/{r.pk}/attachments/", "ADAADDDD"),
        ("API patient detail", "get", f"/api/v1/patients/{r.patient_id}/", "ADAADDDD"),
        ("API patient identity", "get", f"/api/v1/patients/{r.patient_id}/identity/", "ADADDDDD"),
    ]


def _classify(response) -> str:
    if response.status_code in (301, 302):
        return DENY if "/accounts/login/" in response["Location"] else ALLOW
    return ALLOW if response.status_code < 300 else DENY


def _client_for(client, api_client, user, url):
    c = api_client if url.startswith("/api/") else client
    if user is not None:
        if c is api_client:
            c.force_authenticate(user)
        else:
            c.force_login(user)
    return c


@pytest.mark.parametrize("actor_index", range(len(ACTORS)), ids=ACTORS)
def test_reads(world, client, api_client, actor_index):
    users, request = world
    actor = ACTORS[actor_index]
    wrong = []
    for name, method, url, expected in _pages(request):
        c = _client_for(client, api_client, users[actor], url)
        got = _classify(getattr(c, method)(url))
        want = ALLOW if expected[actor_index] == "A" else DENY
        if got != want:
            wrong.append(f"{actor} {name}: got {got}, want {want}")
    assert not wrong, "\n".join(wrong)


def _writes(r):
    return [
        (
            "API edit request",
            "patch",
            f"/api/v1/requests/{r.pk}/",
            {"cycles_planned": 9},
            lambda: OffLabelRequest.objects.get(pk=r.pk).cycles_planned == 9,
            "ADDDDDDD",
        ),
        (
            "API submit",
            "post",
            f"/api/v1/requests/{r.pk}/transition/",
            # The signer's password (issue 16): this matrix is about roles, not re-authentication.
            {"transition": "withdraw", "reason": "x", "reauth_password": TEST_PASSWORD},
            lambda: OffLabelRequest.objects.get(pk=r.pk).status == "withdrawn",
            "ADDDDDDD",
        ),
        (
            "page withdraw",
            "post",
            reverse("requests:transition", args=[r.pk]),
            {"transition": "withdraw", "reason": "x"},
            lambda: OffLabelRequest.objects.get(pk=r.pk).status == "withdrawn",
            "ADDDDDDD",
        ),
        (
            "API attach",
            "post",
            f"/api/v1/requests/{r.pk}/attachments/",
            {"study": None},
            lambda: OffLabelRequest.objects.get(pk=r.pk).attachments.exists(),
            "ADDDDDDD",
        ),
    ]


@pytest.mark.parametrize("actor_index", range(len(ACTORS)), ids=ACTORS)
@pytest.mark.parametrize("write_index", range(4))
def test_writes(world, client, api_client, actor_index, write_index):
    from evidence.models import Study

    users, request = world
    actor = ACTORS[actor_index]
    name, method, url, data, happened, expected = _writes(request)[write_index]
    if "study" in data:
        data = {"study": Study.objects.get(reference=82).pk}
    c = _client_for(client, api_client, users[actor], url)
    response = getattr(c, method)(
        url, data, **({"format": "json"} if url.startswith("/api/") else {})
    )
    want = expected[actor_index] == "A"
    assert happened() == want, (
        f"{actor} {name}: {response.status_code} {getattr(response, 'content', b'')[:200]!r}"
    )
    if want:
        return
    if url.startswith("/api/") or users[actor] is None or response.status_code != 302:
        assert _classify(response) == DENY, (actor, name, response.status_code)
    else:  # a page form: back to the request, with the refusal said plainly
        shown = [str(m) for m in response.wsgi_request._messages]
        assert any("Only the prescriber" in m or "role does not allow" in m for m in shown), shown


def test_lists_show_only_what_each_user_may_see(world, api_client):
    users, _ = world
    expectations = {
        "owner": 1,
        "other_physician": 0,
        "pharmacist": 1,
        "hospital_admin": 1,
        "foreign_physician": 0,
        "foreign_pharmacist": 0,
    }
    for actor, n in expectations.items():
        api_client.force_authenticate(users[actor])
        assert api_client.get("/api/v1/requests/").json()["count"] == n, actor
        assert api_client.get("/api/v1/patients/").json()["count"] == n, actor


def test_identifying_data_never_appear_in_lists_exports_or_logs(world, client, api_client, caplog):
    users, request = world
    secrets_ = [
        IDENTITY["family_name"],
        IDENTITY["given_name"],
        IDENTITY["national_id"],
        "1958-03-14",
    ]
    caplog.set_level(logging.DEBUG)
    seen = []
    for actor in ("owner", "pharmacist", "hospital_admin"):
        client.force_login(users[actor])
        api_client.force_authenticate(users[actor])
        for url in (
            reverse("requests:dashboard"),
            reverse("requests:list"),
            reverse("requests:queue"),
            reverse("requests:detail", args=[request.pk]),
        ):
            seen.append(client.get(url).content.decode())
        for url in (
            "/api/v1/requests/",
            f"/api/v1/requests/{request.pk}/",
            "/api/v1/patients/",
            f"/api/v1/patients/{request.patient_id}/",
            "/api/v1/audit-events/",
        ):
            seen.append(api_client.get(url).content.decode())
    seen.append(caplog.text)
    seen += [f"{e.summary} {e.before} {e.after}" for e in AuditEvent.objects.all()]
    for text in seen:
        for secret in secrets_:
            assert secret not in text
    # The one place it shows is the audited identity page.
    client.force_login(users["pharmacist"])
    page = client.get(reverse("requests:patient-identity", args=[request.patient_id]))
    assert IDENTITY["family_name"] in page.content.decode()
