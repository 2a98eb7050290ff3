import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from dikom.municipalities.models import SizeClass, validate_ags
from dikom.municipalities.tests.factories import DistrictFactory, MunicipalityFactory, OrgUnitFactory


@pytest.mark.parametrize("ags", ["06631009", "06412000", "16051000", "01001000"])
def test_valid_ags(ags):
    validate_ags(ags)


@pytest.mark.parametrize(
    ("ags", "code"),
    [
        ("0663100", "ags_format"),
        ("066310090", "ags_format"),
        ("0663100a", "ags_format"),
        ("", "ags_format"),
        ("17000000", "ags_state"),
        ("00000000", "ags_state"),
        ("99123456", "ags_state"),
    ],
)
def test_invalid_ags_is_rejected_with_a_specific_reason(ags, code):
    with pytest.raises(ValidationError) as info:
        validate_ags(ags)
    assert info.value.code == code


@given(st.text(max_size=12))
def test_ags_validator_accepts_exactly_eight_digits_with_state_prefix(value):
    expected = len(value) == 8 and value.isascii() and value.isdigit() and 1 <= int(value[:2]) <= 16
    try:
        validate_ags(value)
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted == expected


@pytest.mark.parametrize(
    ("population", "size_class"),
    [
        (4_999, SizeClass.RURAL),
        (5_000, SizeClass.SMALL_TOWN),
        (36_000, SizeClass.MEDIUM_TOWN),
        (99_999, SizeClass.MEDIUM_TOWN),
        (100_000, SizeClass.CITY),
        (131_000, SizeClass.CITY),
    ],
)
def test_size_class_is_derived_from_population(population, size_class):
    assert SizeClass.for_population(population) == size_class


@pytest.mark.django_db
def test_ags_is_unique():
    MunicipalityFactory(ags="06631009", district=DistrictFactory(key="06631"))
    with pytest.raises(IntegrityError):
        MunicipalityFactory(ags="06631009", district=DistrictFactory(key="06631"))


@pytest.mark.django_db
def test_ags_must_lie_in_its_district():
    municipality = MunicipalityFactory.build(ags="06531005", district=DistrictFactory(key="06631"), slug="x")
    with pytest.raises(ValidationError) as info:
        municipality.full_clean()
    assert "ags" in info.value.message_dict


@pytest.mark.django_db
@translation.override("en")
def test_org_unit_parent_must_be_same_city_and_not_a_cycle():
    top = OrgUnitFactory()
    child = OrgUnitFactory(municipality=top.municipality, parent=top)
    grandchild = OrgUnitFactory(municipality=top.municipality, parent=child)
    elsewhere = OrgUnitFactory()

    top.parent = grandchild
    with pytest.raises(ValidationError, match="below itself"):
        top.full_clean()

    child.parent = elsewhere
    with pytest.raises(ValidationError, match="same municipality"):
        child.full_clean()

    grandchild.refresh_from_db()
    assert grandchild.ancestors() == [top, child]
