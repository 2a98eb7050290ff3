"""Forms of the city staff's pages: thresholds, the start of the emptying round, the readings export.

Every form works without JavaScript; choices and lookups are limited to the
staff member's own city, so another city's tree, bin or datastream is refused
as an invalid choice.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dikom.lib.dateranges import DayField
from dikom.municipalities.models import Municipality
from dikom.sensors import service as sensors
from dikom.smartcity.models import LitterBin, RouteStart, Threshold, Tree

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

MAX_CBAR = 1500  # beyond the range of tensiometers (about 0–239 cbar) and gypsum blocks


class ThresholdForm(forms.Form):
    subject = forms.ChoiceField(label=_("Applies to"), choices=Threshold.Subject.choices, widget=forms.RadioSelect)
    scope = forms.ChoiceField(label=_("For"), choices=Threshold.Scope.choices)
    species = forms.CharField(label=_("Species"), max_length=120, required=False)
    district = forms.CharField(label=_("District"), max_length=120, required=False)
    west = forms.FloatField(label=_("West (longitude)"), min_value=-180, max_value=180, required=False)
    south = forms.FloatField(label=_("South (latitude)"), min_value=-90, max_value=90, required=False)
    east = forms.FloatField(label=_("East (longitude)"), min_value=-180, max_value=180, required=False)
    north = forms.FloatField(label=_("North (latitude)"), min_value=-90, max_value=90, required=False)
    tree_number = forms.CharField(label=_("Tree number"), max_length=40, required=False)
    litter_bin = forms.ModelChoiceField(label=_("Litter bin"), queryset=LitterBin.objects.none(), required=False)
    good_up_to_cbar = forms.FloatField(
        label=_("Well supplied up to (cbar)"), min_value=0, max_value=MAX_CBAR, required=False
    )
    moderate_up_to_cbar = forms.FloatField(
        label=_("Water soon up to (cbar)"),
        min_value=0,
        max_value=MAX_CBAR,
        required=False,
        help_text=_("Above this the tree needs water now."),
    )
    full_from_percent = forms.IntegerField(
        label=_("Needs emptying from (%)"), min_value=1, max_value=100, required=False
    )
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    #: The form's groups of fields, each drawn as a fieldset: legend, help text (or ""), field names.
    FIELDSETS: ClassVar[list[tuple[StrOrPromise, StrOrPromise, list[str]]]] = [
        (
            _("Which trees or bins"),
            _("Fill in only the field of the chosen scope."),
            ["species", "district", "tree_number", "litter_bin"],
        ),
        (_("Area (a rectangle on the map, in degrees)"), "", ["west", "south", "east", "north"]),
        (_("Limits"), "", ["good_up_to_cbar", "moderate_up_to_cbar", "full_from_percent"]),
    ]

    def __init__(self, *args: Any, city: Municipality, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.city = city
        bin_field = cast(forms.ModelChoiceField, self.fields["litter_bin"])
        bin_field.queryset = LitterBin.objects.filter(municipality=city)
        trees = Tree.objects.filter(municipality=city)
        self.species_choices = sorted(set(trees.values_list("species", flat=True).distinct()) - {""})
        self.district_choices = sorted(set(trees.values_list("district", flat=True).distinct()) - {""})
        self.fields["species"].widget.attrs["list"] = "species-list"
        self.fields["district"].widget.attrs["list"] = "district-list"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        subject, scope = data.get("subject"), data.get("scope")
        if not subject or not scope:
            return data
        trees = subject == Threshold.Subject.TREES
        if trees and scope == Threshold.Scope.BIN:
            self.add_error("scope", _("A single litter bin can only have a threshold for litter bins."))
        if not trees and scope in (Threshold.Scope.SPECIES, Threshold.Scope.DISTRICT, Threshold.Scope.TREE):
            self.add_error("scope", _("Litter bins can have thresholds for the whole city, an area or one bin."))
        if scope == Threshold.Scope.SPECIES:
            match = _pick(data.get("species", ""), self.species_choices)
            if match is None:
                self.add_error("species", _("No tree of this species is in the city's inventory."))
            data["species"] = match or ""
        if scope == Threshold.Scope.DISTRICT:
            match = _pick(data.get("district", ""), self.district_choices)
            if match is None:
                self.add_error("district", _("No tree of the inventory lies in this district."))
            data["district"] = match or ""
        if scope == Threshold.Scope.AREA:
            box = [data.get(k) for k in ("west", "south", "east", "north")]
            if None in box:
                self.add_error("west", _("Enter all four edges of the area."))
            elif box[0] >= box[2] or box[1] >= box[3]:  # type: ignore[operator]
                self.add_error("east", _("East must lie east of west, and north north of south."))
        if scope == Threshold.Scope.TREE:
            number = (data.get("tree_number") or "").strip()
            tree = Tree.objects.filter(municipality=self.city, number=number).first() if number else None
            if tree is None:
                self.add_error("tree_number", _("The city's inventory has no tree with this number."))
            data["tree"] = tree
        if scope == Threshold.Scope.BIN and data.get("litter_bin") is None:
            self.add_error("litter_bin", _("Choose a litter bin."))
        if trees:
            good, moderate = data.get("good_up_to_cbar"), data.get("moderate_up_to_cbar")
            if good is None:
                self.add_error("good_up_to_cbar", _("Enter the limit up to which a tree is well supplied."))
            if moderate is None:
                self.add_error("moderate_up_to_cbar", _("Enter the limit up to which a tree should be watered soon."))
            if good is not None and moderate is not None and moderate <= good:
                self.add_error(
                    "moderate_up_to_cbar",
                    _("The limit for “water soon” must be higher than the one for “well supplied”."),
                )
        elif data.get("full_from_percent") is None:
            self.add_error("full_from_percent", _("Enter the fill level from which a bin needs emptying."))
        return data

    def fieldsets(self) -> list[tuple[StrOrPromise, StrOrPromise, list[forms.BoundField]]]:
        """:attr:`FIELDSETS` with the bound fields, for the template."""
        return [(legend, help_text, [self[name] for name in names]) for legend, help_text, names in self.FIELDSETS]


def _pick(value: str, choices: list[str]) -> str | None:
    wanted = value.strip().casefold()
    return next((c for c in choices if c.casefold() == wanted), None) if wanted else None


class RouteStartForm(forms.ModelForm):
    longitude = forms.FloatField(label=_("Longitude"), min_value=-180, max_value=180, help_text=_("e.g. 9.6756"))
    latitude = forms.FloatField(label=_("Latitude"), min_value=-90, max_value=90, help_text=_("e.g. 50.5558"))

    class Meta:
        model = RouteStart
        fields = ["name", "longitude", "latitude"]


class ReadingExportForm(forms.Form):
    FORMATS = [("csv", _("CSV for spreadsheets (semicolon, UTF-8)")), ("json", "JSON")]

    datastreams = forms.TypedMultipleChoiceField(
        label=_("Data streams"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    things = forms.TypedMultipleChoiceField(
        label=_("All data streams of these devices"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    start = DayField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    end = DayField(label=_("Until (inclusive)"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    fmt = forms.ChoiceField(label=_("Format"), choices=FORMATS, initial="csv", widget=forms.RadioSelect)
    decimal_comma = forms.BooleanField(label=_("Decimal comma (12,5 instead of 12.5)"), required=False, initial=True)

    def __init__(self, *args: Any, city: Municipality, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sensor_things = list(sensors.things_with_datastreams(city))
        things_field = cast(forms.ChoiceField, self.fields["things"])
        streams_field = cast(forms.ChoiceField, self.fields["datastreams"])
        things_field.choices = [(t.pk, t.name) for t in self.sensor_things]
        streams_field.choices = [(d.pk, f"{t.name}: {d.name}") for t in self.sensor_things for d in t.datastreams.all()]
        if not self.is_bound:
            today = timezone.localdate()
            self.initial.setdefault("start", today - dt.timedelta(days=30))
            self.initial.setdefault("end", today)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", _("The end lies before the start."))
        ids = set(data.get("datastreams") or [])
        for thing in self.sensor_things:
            if thing.pk in set(data.get("things") or []):
                ids |= {d.pk for d in thing.datastreams.all()}
        if not ids and not self.errors.get("datastreams") and not self.errors.get("things"):
            self.add_error("datastreams", _("Choose at least one data stream or device."))
        data["datastream_ids"] = sorted(ids)
        return data

    def period(self) -> tuple[dt.datetime, dt.datetime]:
        """The chosen days as a half-open interval of aware datetimes in the local time zone."""
        zone = timezone.get_current_timezone()
        start = dt.datetime.combine(self.cleaned_data["start"], dt.time.min, tzinfo=zone)
        end = dt.datetime.combine(self.cleaned_data["end"] + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
        return start, end
