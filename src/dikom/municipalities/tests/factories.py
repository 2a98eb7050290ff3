from __future__ import annotations

import factory

from dikom.municipalities.models import District, Municipality, OrgUnit


class DistrictFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = District
        django_get_or_create = ("key",)

    key = factory.Sequence(lambda n: f"06{(n % 900) + 100:03d}")
    name = factory.Sequence(lambda n: f"Landkreis {n}")


class MunicipalityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Municipality

    district = factory.SubFactory(DistrictFactory)
    name = factory.Sequence(lambda n: f"Teststadt {n}")
    slug = factory.Sequence(lambda n: f"teststadt-{n}")
    ags = factory.LazyAttributeSequence(lambda o, n: f"{o.district.key}{n % 1000:03d}")
    population = 50_000


class OrgUnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrgUnit

    municipality = factory.SubFactory(MunicipalityFactory)
    name = factory.Sequence(lambda n: f"Amt {n}")
    kind = OrgUnit.Kind.OFFICE
