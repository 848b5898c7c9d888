"""The shortcuts taken for speed (``make bench``) change nothing that is shown or returned:
the request lists' trimmed columns, the serializer's fields built once, the filter backend that
skips an unfiltered list, and the select widget written without an include per option."""

from __future__ import annotations

import re

from django import forms
from django.db import connection
from django.forms.renderers import DjangoTemplates, TemplatesSetting
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from prescriptions.models import OffLabelRequest
from prescriptions.serializers import RequestSerializer
from prescriptions.services import patient_create, request_create
from tests.prescriptions.conftest import COMPLETE_PROFILE, IDENTITY, REGIMEN

API = "/api/v1/requests/"


def new_requests(physician, n: int) -> list[OffLabelRequest]:
    made = []
    for _ in range(n):
        patient = patient_create(
            actor=physician, profile=COMPLETE_PROFILE, medications=[], identity=IDENTITY
        )
        made.append(request_create(actor=physician, patient=patient, fields=REGIMEN))
    return made


def list_queries(client) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(API)
    assert response.status_code == 200
    return len(queries), response.json()


def test_the_list_api_returns_what_the_detail_does_in_queries_independent_of_rows(
    api_client, physician, pharmacist
):
    new_requests(physician, 2)
    api_client.force_authenticate(pharmacist)
    list_queries(api_client)  # the roles and permissions are cached on this user object after
    few, _body = list_queries(api_client)
    new_requests(physician, 4)
    many, body = list_queries(api_client)
    assert body["count"] == 6 and few == many  # no query per row, whatever was deferred
    for row in body["results"]:
        assert row == api_client.get(f"{API}{row['id']}/").json()  # every field, same values


def test_the_list_pages_show_each_rows_fields_in_queries_independent_of_rows(
    client, physician, pharmacist
):
    made = new_requests(physician, 2)
    client.force_login(pharmacist)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("requests:list"))
    made += new_requests(physician, 4)
    with CaptureQueriesContext(connection) as many:
        page = client.get(reverse("requests:list")).content.decode()
    assert len(few) == len(many)
    for request in made:
        assert request.reference in page and request.patient.pseudonym in page
    assert page.count(physician.get_full_name() or physician.username) >= 6
    draft = OffLabelRequest.Status.DRAFT
    assert page.count(f'<span class="status status-{draft.value}">{draft.label}</span>') == 6
    assert page.count(f"<td>{request.get_regimen_display()}</td>") == 6


def test_an_unfiltered_list_skips_the_filters_and_a_filtered_one_still_checks_them(
    api_client, physician, pharmacist
):
    new_requests(physician, 2)
    api_client.force_authenticate(pharmacist)
    assert api_client.get(API, {"page": 1}).json()["count"] == 2
    assert api_client.get(API, {"status": "draft"}).json()["count"] == 2
    assert api_client.get(API, {"status": "approved"}).json()["count"] == 0
    refused = api_client.get(API, {"status": "bogus"})
    assert refused.status_code == 400 and "status" in refused.json()


def test_serializer_fields_built_once_are_not_shared_between_calls(physician):
    first, second = new_requests(physician, 2)
    a, b = RequestSerializer(first), RequestSerializer(second)
    assert a.fields["status"] is not b.fields["status"]
    assert a.fields["status"].parent is a and b.fields["status"].parent is b
    assert a.data["id"] == first.pk and b.data["id"] == second.pk
    assert list(a.data) == list(RequestSerializer.Meta.fields)


class Choices(forms.Form):
    one = forms.ChoiceField(choices=[("", "—"), ("a", "Alpha & co"), ("b", "Beta")])
    many = forms.MultipleChoiceField(choices=[("x", "X"), ("y", "Y"), ("z", "Z")])
    grouped = forms.ChoiceField(
        choices=[("Group <1>", [("g1", "G one"), ("g2", "G two")]), ("solo", "Solo")]
    )


def test_the_select_widget_renders_as_djangos_own():
    form = Choices({"one": "a", "many": ["x", "z"], "grouped": "g2"})
    ours = [str(form[name]) for name in form.fields]
    assert isinstance(form.renderer, TemplatesSetting)  # so templates/django/forms/ is used
    form.renderer = DjangoTemplates()  # Django's own templates only
    theirs = [str(form[name]) for name in form.fields]

    def tight(html: str) -> str:
        return re.sub(r">\s+<", "><", html.strip())

    assert [tight(h) for h in ours] == [tight(h) for h in theirs]
    assert 'value="a" selected' in ours[0] and "Alpha &amp; co" in ours[0]
    assert ours[1].count("selected") == 2 and 'label="Group &lt;1&gt;"' in ours[2]
