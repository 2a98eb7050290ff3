"""Transfer forum search over 100 000 posts: p50/p95 of typical queries on SQLite and PostgreSQL.

Method: a fresh SQLite database in a temporary data dir, or with ``--database-url`` a PostgreSQL
database that is dropped, created and migrated (use a database of your own, e.g.
``postgres://postgres@127.0.0.1:5432/dikom_bench_forum``), gets ``--posts`` generated posts
(default 100 000: a quarter questions, the rest answers spread over them) written with
``bulk_create`` and indexed with ``dikom.forum.search.bulk_index`` exactly as the forum indexes a
post (not timed). Texts are 10–60 words drawn from a German vocabulary of about 250 words with
Zipf-like weights (exponent 0.3: the most frequent word, "Antrag", is in about 40 % of the posts), written in varying
forms (Bäume/Baeume, Straße/Strasse, plural endings); one rare word ("Zaunkönig") is in 20 posts.
Every question has 1–3 of 20 tags; answers carry their question's tags.

Then, in this process, each query runs ``--repeat`` times after one warm-up, through
``dikom.forum.search.search`` (ORM, SQL, the first 20 hits as the search page asks for them) and
through the search page ``/transferforum/?q=…`` (Django test client: routing, access check, view,
template; 50 hits):

- one word ("Antrag", in about 40 % of the posts), two words ("Baum Straße"),
- a rare word ("Zaunkönig"), one word with a tag filter ("Antrag" + tag ``e-akte``).

Example::

    .venv/bin/python benchmarks/bench_forum_search.py --posts 100000 --repeat 50
    .venv/bin/python benchmarks/bench_forum_search.py --database-url postgres://postgres@127.0.0.1:5432/dikom_bench_forum

The machine is shared: the load average is printed with the figures.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import common

BASE_WORDS = [
    "Antrag",
    "Bescheid",
    "Akte",
    "Verwaltung",
    "Bürgerbüro",
    "Onlinedienst",
    "Formular",
    "Frist",
    "Gebühr",
    "Nachweis",
    "Ausweis",
    "Meldebescheinigung",
    "Baum",
    "Straße",
    "Parkplatz",
    "Haushalt",
    "Schule",
    "Kita",
    "Wahl",
    "Personal",
    "Schulung",
    "Kompetenz",
    "Datenschutz",
    "Einwilligung",
    "Signatur",
    "Postfach",
    "Schnittstelle",
    "Fachverfahren",
    "Register",
    "Zuständigkeit",
    "Prozess",
    "Workflow",
    "Vorlage",
    "Sitzung",
    "Protokoll",
    "Rat",
    "Ausschuss",
    "Beschluss",
    "Vergabe",
    "Rechnung",
    "Zahlung",
    "Kasse",
    "Mahnung",
    "Steuer",
    "Grundsteuer",
    "Gewerbe",
    "Anmeldung",
    "Abmeldung",
    "Ummeldung",
    "Umzug",
    "Wohnsitz",
    "Fahrzeug",
    "Zulassung",
    "Führerschein",
    "Bauantrag",
    "Baugenehmigung",
    "Bebauungsplan",
    "Denkmal",
    "Friedhof",
    "Abfall",
    "Wertstoffhof",
    "Wasser",
    "Abwasser",
    "Energie",
    "Klima",
    "Radweg",
    "Bus",
    "Haltestelle",
    "Fahrplan",
    "Spielplatz",
    "Sport",
    "Bad",
    "Bibliothek",
    "Museum",
    "Theater",
    "Kultur",
    "Jugend",
    "Senioren",
    "Pflege",
    "Integration",
    "Sprache",
    "Übersetzung",
    "Barrierefreiheit",
    "Leichte",
    "Sprache",
    "Videokonferenz",
    "Telefon",
    "Termin",
    "Terminbuchung",
    "Warteschlange",
    "Schalter",
    "Öffnungszeit",
    "Dokument",
    "Scan",
    "Scanner",
    "Drucker",
    "Laptop",
    "Tablet",
    "Software",
    "Lizenz",
    "Update",
    "Passwort",
    "Zugang",
    "Berechtigung",
    "Rolle",
    "Administrator",
    "Support",
    "Ticket",
    "Störung",
    "Ausfall",
    "Sicherung",
    "Backup",
    "Archiv",
    "Aufbewahrung",
    "Löschung",
    "Schwärzung",
    "Anonymisierung",
    "Auswertung",
    "Statistik",
    "Bericht",
    "Dashboard",
    "Kennzahl",
    "Ziel",
    "Strategie",
    "Projekt",
    "Meilenstein",
    "Förderung",
    "Antragstellung",
    "Ausschreibung",
    "Angebot",
    "Vertrag",
    "Rahmenvertrag",
    "Dienstleister",
    "Kommune",
    "Kreis",
    "Land",
    "Bund",
    "Kooperation",
    "Nachnutzung",
    "Einer-für-Alle",
    "Standard",
    "XÖV",
    "FIM",
    "LeiKa",
    "Servicekonto",
    "BundID",
    "Elster",
    "Bezahlung",
    "ePayBL",
    "Identifizierung",
    "Vertrauensniveau",
    "Postkorb",
    "Nachricht",
    "Bescheidzustellung",
    "Rückfrage",
    "Anhörung",
    "Widerspruch",
    "Klage",
    "Gericht",
    "Rechtsamt",
    "Ordnungsamt",
    "Bauamt",
    "Standesamt",
    "Sozialamt",
    "Jugendamt",
    "Grünflächenamt",
    "Tiefbauamt",
    "Kämmerei",
    "Hauptamt",
    "Personalrat",
    "Gleichstellung",
    "Beauftragte",
    "Digitallotsin",
    "Lotse",
    "Schulungsplan",
    "Lernplattform",
    "Moodle",
    "Webinar",
    "Forumstag",
    "Austausch",
    "Erfahrung",
    "Tipp",
    "Lösung",
    "Problem",
    "Fehler",
    "Frage",
    "Beispiel",
    "Muster",
    "Checkliste",
    "Leitfaden",
    "Handbuch",
    "Anleitung",
    "Video",
    "Präsentation",
    "Folien",
    "Vorlage",
    "Textbaustein",
]
VARIANTS = {
    "Baum": ["Baum", "Bäume", "Baeume", "Bäumen", "Baums"],
    "Straße": ["Straße", "Strasse", "Straßen", "Strassen"],
    "Antrag": ["Antrag", "Anträge", "Antrags", "Antraege"],
    "Akte": ["Akte", "Akten"],
}
RARE = "Zaunkönig"
TAGS = [
    "e-akte", "ozg", "datenschutz", "open-data", "rpa", "personal", "schulung", "onlinedienste", "bauamt",
    "buergerbuero", "finanzen", "it-sicherheit", "barrierefreiheit", "kita", "schule", "abfall", "verkehr",
    "wahlen", "standesamt", "digcomp-4-2",
]  # fmt: skip
QUERIES = [
    ("one word", "Antrag", None),
    ("two words", "Baum Straße", None),
    ("rare word", RARE, None),
    ("word + tag", "Antrag", "e-akte"),
]


def setup_django(database_url: str | None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dikom.conf.dev")
    os.environ["DIKOM_DEBUG"] = "false"
    os.environ["DIKOM_LOG_LEVEL"] = "WARNING"
    os.environ["DIKOM_ALLOWED_HOSTS"] = "testserver,127.0.0.1"
    os.environ["DIKOM_REQUIRE_2FA_FOR_STAFF"] = "false"
    if database_url:
        import psycopg

        base, name = database_url.rsplit("/", 1)
        with psycopg.connect(base + "/postgres", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
            connection.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = database_url
    else:
        data_dir = tempfile.mkdtemp(prefix="dikom-bench-forum-")
        os.environ["DIKOM_DATA_DIR"] = data_dir
        atexit.register(shutil.rmtree, data_dir, ignore_errors=True)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    call_command("migrate", verbosity=0)


def _text(rng: random.Random, words: list[str], weights: list[float], low: int, high: int) -> str:
    chosen = rng.choices(words, weights=weights, k=rng.randint(low, high))
    return " ".join(rng.choice(VARIANTS.get(w, [w])) for w in chosen)


def generate(count: int, seed: int) -> object:
    """``count`` posts (a quarter questions); returns a staff user to search as."""
    from datetime import UTC, datetime, timedelta

    from django.db import transaction
    from django.urls import reverse

    from dikom.accounts.models import Membership, User
    from dikom.accounts.roles import Role
    from dikom.forum import actions, search
    from dikom.forum.models import Answer, Category, Tag, Topic
    from dikom.municipalities.models import District, Municipality

    rng = random.Random(seed)
    district, _ = District.objects.get_or_create(key="06631", defaults={"name": "Landkreis Fulda"})
    city, _ = Municipality.objects.get_or_create(
        ags="06631009", defaults={"name": "Fulda", "slug": "fulda", "district": district, "population": 69000}
    )
    user = User.objects.create_user(username="bench-forum", password="x")  # noqa: S106 - a throw-away database
    Membership.objects.create(user=user, municipality=city, role=Role.STAFF_MEMBER)
    actions.install_default_categories()
    category = Category.objects.first()
    tags = [Tag.objects.get_or_create(slug=slug, defaults={"name": slug})[0] for slug in TAGS]
    words = BASE_WORDS
    weights = [1 / (rank + 1) ** 0.3 for rank in range(len(words))]
    words = ["Antrag", *[w for w in words if w != "Antrag"]]  # the most frequent word
    n_topics = max(1, count // 4)
    rare_posts = set(rng.sample(range(count), min(20, count)))
    start = datetime(2023, 1, 1, tzinfo=UTC)
    batch = 5000
    with transaction.atomic():
        topics: list[Topic] = []
        for number in range(n_topics):
            body = _text(rng, words, weights, 10, 60) + (f" {RARE}" if number in rare_posts else "")
            at = start + timedelta(minutes=number * 7)
            topics.append(
                Topic(
                    category=category,
                    title=_text(rng, words, weights, 3, 8)[:200],
                    body=body,
                    author=user,
                    author_municipality=city,
                    published_at=at,
                    score=rng.choice([0, 0, 0, 1, 2, 5]),
                )
            )
        Topic.objects.bulk_create(topics, batch_size=batch)
        through = Topic.tags.through
        topic_tags: dict[int, list[str]] = {}
        links = []
        for topic in topics:
            chosen = rng.sample(tags, rng.randint(1, 3))
            topic_tags[topic.pk] = [t.slug for t in chosen]
            links.extend(through(topic_id=topic.pk, tag_id=t.pk) for t in chosen)
        through.objects.bulk_create(links, batch_size=batch)
        answers: list[Answer] = []
        for number in range(n_topics, count):
            topic = topics[rng.randrange(n_topics)]
            body = _text(rng, words, weights, 10, 60) + (f" {RARE}" if number in rare_posts else "")
            answers.append(
                Answer(
                    topic=topic,
                    body=body,
                    author=user,
                    author_municipality=city,
                    published_at=start + timedelta(minutes=number * 3),
                    score=rng.choice([0, 0, 1, 3]),
                )
            )
        Answer.objects.bulk_create(answers, batch_size=batch)
    by_pk = {t.pk: t for t in topics}

    def documents():  # as documents.topic_document / answer_document build them, without a query per post
        for topic in topics:
            url = reverse("forum:topic", args=[topic.uuid])
            yield search.Document(
                "forum.question", str(topic.uuid), topic.title, topic.body, url, topic_tags[topic.pk], topic.score,
                topic.published_at,
            )  # fmt: skip
        for answer in answers:
            topic = by_pk[answer.topic_id]
            url = reverse("forum:topic", args=[topic.uuid]) + f"#a-{answer.uuid}"
            yield search.Document(
                "forum.answer", str(answer.uuid), topic.title, answer.body, url, topic_tags[topic.pk], answer.score,
                answer.published_at, title_searched=False,
            )  # fmt: skip

    search.bulk_index(documents(), batch=5000)
    return user


def measure(fn: Callable[[], object], repeat: int) -> dict[str, float]:
    fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return {
        "p50_ms": round(common.percentile(samples, 50), 1),
        "p95_ms": round(common.percentile(samples, 95), 1),
        "max_ms": round(max(samples), 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args(argv)
    setup_django(args.database_url)
    from django.db import connection
    from django.test import Client

    from dikom.forum import search
    from dikom.forum.models import SearchDocument, SearchTerm

    print(f"# machine: {common.machine()}", flush=True)
    print(f"# database: {connection.vendor} {connection.settings_dict['NAME']}", flush=True)
    started = time.perf_counter()
    user = generate(args.posts, args.seed)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE forum_searchdocument")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(
        f"# generated {args.posts} posts, {SearchDocument.objects.count()} documents, "
        f"{SearchTerm.objects.count()} term rows in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    assert client.get("/transferforum/?q=Baum").status_code == 200
    rows = []
    for label, query, tag in QUERIES:
        matches = len(search.search(user, query, tag=tag, limit=1_000_000).hits)
        rows.append(
            {
                "query": label,
                "q": query,
                "tag": tag,
                "matching_documents": matches,
                "search()": measure(lambda q=query, t=tag: search.search(user, q, tag=t), args.repeat),
                "page": measure(
                    lambda q=query, t=tag: client.get("/transferforum/", {"q": q, **({"thema": t} if t else {})}),
                    args.repeat,
                ),
            }
        )
        print(json.dumps(rows[-1], ensure_ascii=False), flush=True)
    print(f"# load after: {common.machine()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
