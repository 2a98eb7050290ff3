"""Tenants of the platform: municipalities (and districts that join as members),
their districts and their organisational units."""

from __future__ import annotations

import re
import uuid

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

# Official state keys (Länderschlüssel) 01 Schleswig-Holstein … 16 Thüringen.
STATE_NAMES = {
    "01": "Schleswig-Holstein",
    "02": "Hamburg",
    "03": "Niedersachsen",
    "04": "Bremen",
    "05": "Nordrhein-Westfalen",
    "06": "Hessen",
    "07": "Rheinland-Pfalz",
    "08": "Baden-Württemberg",
    "09": "Bayern",
    "10": "Saarland",
    "11": "Berlin",
    "12": "Brandenburg",
    "13": "Mecklenburg-Vorpommern",
    "14": "Sachsen",
    "15": "Sachsen-Anhalt",
    "16": "Thüringen",
}
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def validate_ags(value: str) -> None:
    """An official municipality key (Amtlicher Gemeindeschlüssel): 8 digits, the
    first two a German state key."""
    if not re.fullmatch(r"\d{8}", value or ""):
        raise ValidationError(_("The AGS must consist of exactly 8 digits."), code="ags_format")
    if value[:2] not in STATE_NAMES:
        raise ValidationError(
            _("The AGS must start with a German state key (01 to 16), not %(prefix)s."),
            code="ags_state",
            params={"prefix": value[:2]},
        )


def validate_district_key(value: str) -> None:
    if not re.fullmatch(r"\d{5}", value or ""):
        raise ValidationError(_("The district key must consist of exactly 5 digits."), code="district_format")
    if value[:2] not in STATE_NAMES:
        raise ValidationError(
            _("The district key must start with a German state key (01 to 16)."), code="district_state"
        )


class SizeClass(models.TextChoices):
    """Size classes by population, as used by German statistics for comparisons."""

    RURAL = "rural", _("Rural municipality (under 5,000)")
    SMALL_TOWN = "small_town", _("Small town (5,000 to 19,999)")
    MEDIUM_TOWN = "medium_town", _("Medium-sized town (20,000 to 99,999)")
    CITY = "city", _("City (100,000 and more)")

    @classmethod
    def for_population(cls, population: int) -> SizeClass:
        if population < 5_000:
            return cls.RURAL
        if population < 20_000:
            return cls.SMALL_TOWN
        if population < 100_000:
            return cls.MEDIUM_TOWN
        return cls.CITY


class District(models.Model):
    """A Landkreis, or a kreisfreie Stadt that forms a district of its own."""

    class Kind(models.TextChoices):
        RURAL_DISTRICT = "landkreis", _("Rural district (Landkreis)")
        DISTRICT_FREE_CITY = "kreisfreie_stadt", _("District-free city (kreisfreie Stadt)")

    key = models.CharField(_("district key"), max_length=5, unique=True, validators=[validate_district_key])
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.RURAL_DISTRICT)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("district")
        verbose_name_plural = _("districts")

    def __str__(self) -> str:
        return self.name


class Municipality(models.Model):
    """A member of the cooperation and the tenant boundary of all its data."""

    class Kind(models.TextChoices):
        MUNICIPALITY = "gemeinde", _("Municipality (Gemeinde/Stadt)")
        DISTRICT_FREE_CITY = "kreisfreie_stadt", _("District-free city")
        DISTRICT = "landkreis", _("District (Landkreis) as member")

    class Membership(models.TextChoices):
        FOUNDING = "founding", _("Founding member")
        MEMBER = "member", _("Member")
        PARTNER = "partner", _("Partner (GoDonu)")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("short name in addresses"), max_length=60, unique=True)
    ags = models.CharField(
        _("official municipality key (AGS)"),
        max_length=8,
        unique=True,
        validators=[validate_ags],
        help_text=_("8 digits: state, district, municipality. A district as member uses its key followed by 000."),
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.MUNICIPALITY)
    district = models.ForeignKey(
        District, verbose_name=_("district"), on_delete=models.PROTECT, related_name="municipalities"
    )
    population = models.PositiveIntegerField(_("population"))
    membership = models.CharField(
        _("membership in the cooperation"), max_length=20, choices=Membership.choices, default=Membership.MEMBER
    )
    joined_on = models.DateField(_("member since"), null=True, blank=True)
    brand_colour = models.CharField(
        _("brand colour"),
        max_length=7,
        default="#005a9c",
        validators=[RegexValidator(HEX_COLOUR, _("Enter a colour as #RRGGBB."))],
    )
    logo = models.FileField(
        _("coat of arms or logo"),
        upload_to="municipalities/logos/",
        blank=True,
        help_text=_("SVG or PNG shown on citizen-facing pages."),
    )
    website = models.URLField(_("website"), blank=True)
    # The authority as it signs letters (Bescheide, receipts) and as the legal remedy names it.
    authority_name = models.CharField(
        _("official name of the authority"),
        max_length=200,
        blank=True,
        help_text=_("As in the letterhead, e.g. “Universitätsstadt Marburg”. Empty: the municipality’s name."),
    )
    authority_head = models.CharField(
        _("head of the authority"),
        max_length=200,
        blank=True,
        help_text=_("The designation under the name, e.g. “Der Oberbürgermeister”."),
    )
    street_address = models.CharField(_("street and house number"), max_length=200, blank=True)
    postcode = models.CharField(
        _("postcode"),
        max_length=5,
        blank=True,
        validators=[RegexValidator(r"^[0-9]{5}$", _("Enter five digits."))],
    )
    locality = models.CharField(_("town"), max_length=100, blank=True)
    phone = models.CharField(_("telephone"), max_length=40, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    is_demo = models.BooleanField(_("demo data"), default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("municipality")
        verbose_name_plural = _("municipalities")

    def __str__(self) -> str:
        return self.name

    @property
    def official_name(self) -> str:
        """The authority's name for letters: the official one when set, else the municipality's."""
        return self.authority_name or self.name

    @property
    def postal_address(self) -> str:
        """Street, postcode and town on one line (empty when no address is set)."""
        town = f"{self.postcode} {self.locality}".strip()
        return ", ".join(part for part in (self.street_address, town) if part)

    @property
    def state_key(self) -> str:
        return self.ags[:2]

    @property
    def state_name(self) -> str:
        return STATE_NAMES.get(self.state_key, "")

    @property
    def size_class(self) -> SizeClass:
        return SizeClass.for_population(self.population)

    def clean(self) -> None:
        super().clean()
        if self.ags and self.district_id and not self.ags.startswith(self.district.key):
            raise ValidationError(
                {"ags": _("The AGS must begin with the key of its district (%(key)s).") % {"key": self.district.key}}
            )


class OrgUnit(models.Model):
    """A unit of a municipality's administration: Dezernat → Fachbereich/Amt → Abteilung."""

    class Kind(models.TextChoices):
        DEPARTMENT = "dezernat", _("Department (Dezernat)")
        DIVISION = "fachbereich", _("Division (Fachbereich)")
        OFFICE = "amt", _("Office (Amt)")
        SECTION = "abteilung", _("Section (Abteilung)")
        TEAM = "sachgebiet", _("Team (Sachgebiet)")
        STAFF_UNIT = "stabsstelle", _("Staff unit (Stabsstelle)")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    municipality = models.ForeignKey(
        Municipality, verbose_name=_("municipality"), on_delete=models.CASCADE, related_name="org_units"
    )
    parent = models.ForeignKey(
        "self", verbose_name=_("parent unit"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    name = models.CharField(_("name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=30, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    email = models.EmailField(_("contact e-mail"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["municipality", "name"]
        verbose_name = _("organisational unit")
        verbose_name_plural = _("organisational units")
        constraints = [
            models.UniqueConstraint(fields=["municipality", "parent", "name"], name="orgunit_unique_name_per_parent"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        parent = self.parent if self.parent_id is not None else None
        if parent is None:
            return
        if parent.municipality_id != self.municipality_id:
            raise ValidationError({"parent": _("The parent unit must belong to the same municipality.")})
        seen = {self.pk} if self.pk else set()
        node: OrgUnit | None = self.parent
        while node is not None:
            if node.pk in seen:
                raise ValidationError({"parent": _("A unit cannot be placed below itself.")})
            seen.add(node.pk)
            node = node.parent

    def ancestors(self) -> list[OrgUnit]:
        chain: list[OrgUnit] = []
        node = self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return list(reversed(chain))
