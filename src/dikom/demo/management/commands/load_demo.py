"""Load the demo cooperation (idempotent) and print the demo log-ins."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from dikom.analytics.collect.demo import load_demo_collection_site
from dikom.analytics.demo import DEMO_DAYS, load_demo_usage
from dikom.cases.demo import load_demo_cases
from dikom.competences.demo import MANAGER_SUFFIX, load_demo_competences
from dikom.demo import data
from dikom.demo.actions import load_demo_cooperation
from dikom.eservices.service import load_demo_services
from dikom.forum.demo import load_demo_forum
from dikom.opendata.demo import load_demo_opendata
from dikom.portal.demo import load_demo_applications
from dikom.sensors.demo import load_demo_sensors
from dikom.smartcity.demo import load_demo_smartcity

CREDENTIALS_FILE = "demo-credentials.txt"


class Command(BaseCommand):
    help = "Load the demo cooperation (six cities, three partners, one demo user per role) and print the log-ins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--new-password", action="store_true", help="Give all demo accounts a new password.")
        parser.add_argument(
            "--usage-days",
            type=int,
            default=DEMO_DAYS,
            help=f"Days of generated usage events for the analytics dashboards (default {DEMO_DAYS}; 0: none).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DIKOM_DEMO:
            raise CommandError("Demo data is only loaded where DIKOM_DEMO is on (never in production).")
        credentials = Path(settings.DATA_DIR) / CREDENTIALS_FILE
        password = None
        if credentials.exists() and not options["new_password"]:
            password = credentials.read_text(encoding="utf-8").strip() or None
        result = load_demo_cooperation(password=password, set_password=options["new_password"])
        # The three co-developed online services (drafted, reviewed, released, adopted by all six).
        load_demo_services()
        # A few applications of the demo citizen (submitted, one paid, one draft).
        applications = load_demo_applications()
        # Their cases worked through: information request, parallel departments, sign-off, e-file.
        load_demo_cases()
        # roadMAP: invented staff with role profiles and assessments that show gaps.
        load_demo_competences(password=result.password)
        # Transfer forum: two threads across cities with accepted answers, upcoming events.
        load_demo_forum()
        # A few open datasets per founding city (semicolon CSV in Windows-1252, GeoJSON, a link).
        opendata = load_demo_opendata()
        # Generated usage events of the last months for the analytics dashboards.
        usage = load_demo_usage(days=options["usage_days"])
        # Gießen's bulky-waste form, instrumented for Matomo: /matomo.php and the snippet work at once.
        site = load_demo_collection_site()
        # Street trees with simulated soil probes in the SensorThings API (generated readings).
        sensors = load_demo_sensors()
        # The citizen app on top: inventory trees, rain, construction sites, litter bins with fill sensors.
        smartcity = load_demo_smartcity()
        credentials.parent.mkdir(parents=True, exist_ok=True)
        credentials.write_text(result.password + "\n", encoding="utf-8")
        os.chmod(credentials, 0o600)

        action = "geladen" if result.created else "war schon geladen"
        if applications.unpaid:
            self.stdout.write(
                self.style.ERROR(
                    "Ohne Bezahlplattform (DIKOM_PAYMENT_PROVIDERS) bleiben diese Demo-Anträge unbezahlte Entwürfe "
                    f"und fehlen in den Posteingängen: {', '.join(applications.unpaid)}"
                )
            )
        self.stdout.write(self.style.WARNING(f"\nDEMO-Kooperation {action} (alle Personen und Daten sind erfunden)."))
        self.stdout.write("Anmeldung unter http://127.0.0.1:8000/konto/anmelden/ mit dem Passwort:")
        self.stdout.write(self.style.SUCCESS(f"    {result.password}"))
        self.stdout.write(
            "Benutzernamen (je Stadt: <stadt>-admin, -designer, -reviewer, -caseworker, -analyst, -publisher, -staff, -hr):"
        )
        self.stdout.write(
            f"    {data.PLATFORM_ADMIN_USERNAME} (Plattform-Administration), {data.CITIZEN_USERNAME} (Bürgerin)"
        )
        cities = ", ".join(slug for slug, *_ in data.MUNICIPALITIES)
        self.stdout.write(f"    Städte: {cities}\n")
        self.stdout.write(
            f"roadMAP (Kompetenzen, erfundene Beschäftigte): http://127.0.0.1:8000/kompetenzen/ – z. B. als "
            f"fulda-caseworker (Selbsteinschätzung), fulda-{MANAGER_SUFFIX} (Führungskraft), fulda-hr (Heatmap)\n"
        )
        if usage.days:
            first, last = usage.days
            self.stdout.write(
                f"Nutzungsdaten (generierte Demo-Daten) {first:%d.%m.%Y}–{last:%d.%m.%Y}: "
                f"{usage.events_stored} neue Ereignisse, {usage.services_created} neue Dienste "
                f"– zu sehen unter http://127.0.0.1:8000/analytics/ (z. B. als marburg-analyst).\n"
            )
        if sensors.things:
            self.stdout.write(
                f"Sensoren (generierte Demo-Daten): {sensors.things} Straßenbäume mit {sensors.observations} Messwerten "
                f"– SensorThings API unter http://127.0.0.1:8000/sta/v1.1/Things\n"
            )
        if smartcity.trees:
            self.stdout.write(
                f"Smart City (generierte Demo-Daten): {smartcity.trees} Bäume, {smartcity.sites} Baustellen, "
                f"{smartcity.bins} Abfallbehälter – http://127.0.0.1:8000/stadt/ (Baum adoptieren als buergerin)\n"
            )
        if opendata.created:
            self.stdout.write(
                f"Offene Daten (Demo): {opendata.created} Datensätze – http://127.0.0.1:8000/opendata/, "
                "CKAN-API unter /api/3/action/, DCAT-AP.de unter /catalog.ttl\n"
            )
        if site is not None:
            idsite = f"Matomo-idsite {site.matomo_idsite}, " if site.matomo_idsite else ""
            self.stdout.write(
                f"Erfassungsstelle (Demo) „{site.name}“: {idsite}site_id {site.site_id} "
                f"– http://127.0.0.1:8000/analytics-erfassung/giessen/ (als giessen-analyst); "
                f"Demo-Formular mit dem JavaScript-Schnipsel: http://127.0.0.1:8000/demo-formular/sperrmuell/\n"
            )
