"""The platform's modules as the landing page and the module pages present them.

A module that is not built yet has a page at a stable URL (``/dienste/``,
``/faelle/`` …) that says what it will do. When the module's app arrives, it
includes its own URLs *before* ``dikom.web.urls`` in ``dikom/urls.py``, which
then take precedence, and the module's ``ready`` flag is set here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Module:
    slug: str  # also the German URL path segment
    title: Promise
    programme: Promise
    summary: Promise
    features: tuple[Promise, ...] = field(default_factory=tuple)
    ready: bool = False
    #: Where staff work with a ready module whose own pages need a sign-in (the module page stays public).
    workspace_url: str = ""
    #: Where citizens use a ready module without signing in.
    public_url: str = ""


TOTAL_DIGITAL = _("Total Digital")
EGOVSAD = _("eGovSAD / GoDonu")
OPEN_SMART_CITY = _("Open Smart City")
ROADMAP = _("roadMAP")

MODULES: tuple[Module, ...] = (
    Module(
        slug="dienste",
        title=_("Online services"),
        programme=TOTAL_DIGITAL,
        summary=_(
            "A shared library of online services: one city drafts a service, the working group of the "
            "cooperation reviews it, and every member city adopts it with its own fees and offices. "
            "Citizens use the services in their city's portal."
        ),
        features=(
            _("Form steps, BPMN workflow and decision template drafted once, reused by every city"),
            _("Review and release by the intermunicipal working group"),
            _("Adoption by each city with local settings such as fees and the responsible office"),
            _("Citizen portal with sign-in via BundID, ELSTER or the online ID card, and online payment"),
        ),
        ready=True,
    ),
    Module(
        slug="faelle",
        title=_("Case processing"),
        programme=TOTAL_DIGITAL,
        summary=_(
            "Every submitted application becomes a case in the back office of the responsible city and is "
            "worked through its workflow up to the decision letter, without media breaks."
        ),
        features=(
            _("Workflow from application to decision, with automation rules"),
            _("Decision letters as PDF and notification of the applicant"),
            _("Export of the case file to the e-file system as xdomea"),
        ),
        ready=True,
        workspace_url="/vorgaenge/",
    ),
    Module(
        slug="analytics",
        title=_("Usage analytics"),
        programme=EGOVSAD,
        summary=_(
            "Usage figures of every online service, from the platform itself and from outside systems "
            "(Civento, Matomo, CSV exports): funnels showing where people abandon, payment and sign-in "
            "methods, feedback, and comparison between cities."
        ),
        features=(
            _("Anonymous usage events and the Matomo tracking interface"),
            _("Dashboards per service and comparison with the average of all cities, a district or a size class"),
            _("Monthly usage tables as open data"),
        ),
        ready=True,
    ),
    Module(
        slug="opendata",
        title=_("Open data"),
        programme=OPEN_SMART_CITY,
        summary=_(
            "An open data portal with the datasets of all member cities, harvestable by GovData via "
            "DCAT-AP.de and usable with CKAN clients."
        ),
        features=(
            _("Dataset catalogue of all member cities"),
            _("DCAT-AP.de catalogue for GovData"),
            _("CKAN-compatible programming interface"),
        ),
        ready=True,
    ),
    Module(
        slug="sensoren",
        title=_("Sensors and tree map"),
        programme=OPEN_SMART_CITY,
        summary=_(
            "Environmental sensors such as soil moisture at street trees and fill levels of waste bins, and a "
            "tree map for citizens showing which trees need water."
        ),
        features=(
            _("Sensor readings via MQTT and LoRaWAN, available through the OGC SensorThings API"),
            _("Tree map with watering need, tree adoption and logged waterings"),
            _("Construction sites on the map"),
        ),
        ready=True,
        public_url="/stadt/",
    ),
    Module(
        slug="kompetenzen",
        title=_("Competences and training"),
        programme=ROADMAP,
        summary=_(
            "Which digital know-how each department needs: competence frameworks, role profiles, "
            "self-assessments, gaps per department and a training catalogue across all member cities."
        ),
        features=(
            _("Competence framework based on DigComp, with role profiles and required levels"),
            _("Self-assessments and gap overviews per department"),
            _("Training catalogue of all member cities and a directory of experts"),
        ),
        ready=True,
    ),
    Module(
        slug="forum",
        title=_("Transfer forum"),
        programme=ROADMAP,
        summary=_(
            "The digital transfer forum of the cooperation: staff ask questions and share experience "
            "across city boundaries, and find the experts of other member cities."
        ),
        features=(
            _("Questions and answers between staff of all member cities"),
            _("Experts findable by competence cluster"),
        ),
        ready=True,
        workspace_url="/transferforum/",
    ),
)

MODULES_BY_SLUG: dict[str, Module] = {module.slug: module for module in MODULES}
