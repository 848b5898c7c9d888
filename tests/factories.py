from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth.models import Group

from accounts.models import COUNTRY_TIME_ZONES, Hospital, User
from accounts.roles import Role

TEST_PASSWORD = "Correct-Horse-Battery-42"


class HospitalFactory(factory.django.DjangoModelFactory[Hospital]):
    class Meta:
        model = Hospital
        django_get_or_create = ("code",)

    name = factory.Sequence(lambda n: f"Invented Test Hospital {n}")
    code = factory.Sequence(lambda n: f"test-{n}")
    country = "IT"
    time_zone = factory.LazyAttribute(lambda h: COUNTRY_TIME_ZONES.get(h.country, "Europe/Rome"))
    is_demo = True
    # Consent forms require both (issue 13); invented like the rest.
    emergency_phone_24h = "+39 000 000 0000 (invented)"
    dpo_contact = "dpo@hospital.example.invalid"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    hospital = factory.SubFactory(HospitalFactory)
    password = factory.django.Password(TEST_PASSWORD)

    @factory.post_generation
    def role(obj: User, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            obj.groups.add(Group.objects.get(name=Role(extracted)))
