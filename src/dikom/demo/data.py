"""The demo cooperation: real member municipalities with their official keys
and approximate populations (see docs/domain.md), fictional org units and people.

Everything created from here is marked ``is_demo``.
"""

from __future__ import annotations

from dikom.accounts.roles import Role

# (key, name, kind)
DISTRICTS = [
    ("06631", "Landkreis Fulda", "landkreis"),
    ("06531", "Landkreis Gießen", "landkreis"),
    ("06533", "Landkreis Limburg-Weilburg", "landkreis"),
    ("06534", "Landkreis Marburg-Biedenkopf", "landkreis"),
    ("06413", "Offenbach am Main", "kreisfreie_stadt"),
    ("06532", "Lahn-Dill-Kreis", "landkreis"),
    ("06412", "Frankfurt am Main", "kreisfreie_stadt"),
    ("06611", "Kassel", "kreisfreie_stadt"),
    ("06439", "Rheingau-Taunus-Kreis", "landkreis"),
]

# (slug, name, ags, kind, population, membership, brand colour)
MUNICIPALITIES = [
    ("fulda", "Fulda", "06631009", "gemeinde", 69_000, "founding", "#00508c"),
    ("giessen", "Gießen", "06531005", "gemeinde", 92_000, "founding", "#8a1538"),
    ("limburg", "Limburg a. d. Lahn", "06533009", "gemeinde", 36_000, "founding", "#a4121c"),
    ("marburg", "Marburg", "06534014", "gemeinde", 77_000, "founding", "#005f50"),
    ("offenbach", "Offenbach am Main", "06413000", "kreisfreie_stadt", 131_000, "founding", "#1d4f91"),
    ("wetzlar", "Wetzlar", "06532023", "gemeinde", 53_000, "founding", "#2f5d1e"),
    ("frankfurt", "Frankfurt am Main", "06412000", "kreisfreie_stadt", 773_000, "partner", "#7a1f2b"),
    ("kassel", "Kassel", "06611000", "kreisfreie_stadt", 202_000, "partner", "#3a3a8c"),
    # A district as member: its five-digit key followed by 000 (see docs/domain.md).
    ("rheingau-taunus-kreis", "Rheingau-Taunus-Kreis", "06439000", "landkreis", 187_000, "partner", "#4b5320"),
]

# The authority as letters name it: slug -> (official name, head of the authority, street, postcode, town,
# telephone, e-mail). DEMO VALUES: the town halls' streets are real, telephone numbers and e-mail addresses are
# made up (the e-mail domain cannot receive mail); replace them in the municipality administration.
AUTHORITIES = {
    "fulda": ("Stadt Fulda", "Der Oberbürgermeister", "Schlossstraße 1", "36037", "Fulda",
              "0661 000-0 (Demo)", "buergerservice@fulda.demo.dikom.invalid"),
    "giessen": ("Universitätsstadt Gießen", "Der Oberbürgermeister", "Berliner Platz 1", "35390", "Gießen",
                "0641 000-0 (Demo)", "buergerservice@giessen.demo.dikom.invalid"),
    "limburg": ("Kreisstadt Limburg a. d. Lahn", "Der Bürgermeister", "Werner-Senger-Straße 10", "65549",
                "Limburg a. d. Lahn", "06431 000-0 (Demo)", "buergerservice@limburg.demo.dikom.invalid"),
    "marburg": ("Universitätsstadt Marburg", "Der Oberbürgermeister", "Markt 1", "35037", "Marburg",
                "06421 000-0 (Demo)", "buergerservice@marburg.demo.dikom.invalid"),
    "offenbach": ("Stadt Offenbach am Main", "Der Oberbürgermeister", "Berliner Straße 100", "63065",
                  "Offenbach am Main", "069 000-0 (Demo)", "buergerservice@offenbach.demo.dikom.invalid"),
    "wetzlar": ("Stadt Wetzlar", "Der Oberbürgermeister", "Ernst-Leitz-Straße 30", "35578", "Wetzlar",
                "06441 000-0 (Demo)", "buergerservice@wetzlar.demo.dikom.invalid"),
    "frankfurt": ("Stadt Frankfurt am Main", "Der Oberbürgermeister", "Römerberg 23", "60311",
                  "Frankfurt am Main", "069 000-0 (Demo)", "buergerservice@frankfurt.demo.dikom.invalid"),
    "kassel": ("Stadt Kassel", "Der Oberbürgermeister", "Obere Königsstraße 8", "34117", "Kassel",
               "0561 000-0 (Demo)", "buergerservice@kassel.demo.dikom.invalid"),
    "rheingau-taunus-kreis": ("Rheingau-Taunus-Kreis", "Der Landrat", "Heimbacher Straße 7", "65307",
                              "Bad Schwalbach", "06124 000-0 (Demo)",
                              "buergerservice@rtk.demo.dikom.invalid"),
}  # fmt: skip
AUTHORITY_FIELDS = ("authority_name", "authority_head", "street_address", "postcode", "locality", "phone", "email")

# The same fictional organisation chart for every demo city: (name, short, kind, children)
ORG_CHART = [
    (
        "Dezernat I – Oberbürgermeisteramt",
        "Dez. I",
        "dezernat",
        [
            ("Stabsstelle Digitalisierung", "Digi", "stabsstelle", []),
            (
                "Fachbereich Organisation und IT",
                "FB 10",
                "fachbereich",
                [("Abteilung IT-Service", "10.2", "abteilung", [])],
            ),
            ("Fachbereich Finanzen und Steuern", "FB 20", "fachbereich", [("Steueramt", "20.3", "amt", [])]),
        ],
    ),
    (
        "Dezernat II – Bürgerdienste und Ordnung",
        "Dez. II",
        "dezernat",
        [
            (
                "Fachbereich Bürgerdienste",
                "FB 32",
                "fachbereich",
                [
                    ("Bürgerbüro", "32.1", "amt", []),
                    ("Standesamt", "32.2", "amt", []),
                ],
            ),
            ("Ordnungsamt", "FB 33", "amt", [("Straßenverkehrsbehörde", "33.4", "abteilung", [])]),
        ],
    ),
    (
        "Dezernat III – Soziales, Umwelt und Stadtentwicklung",
        "Dez. III",
        "dezernat",
        [
            ("Fachbereich Soziales und Jugend", "FB 50", "fachbereich", []),
            ("Fachbereich Umwelt und Grünflächen", "FB 67", "fachbereich", []),
            ("Fachbereich Stadtplanung", "FB 61", "fachbereich", []),
        ],
    ),
]

# One demo person per role: (role, user-name suffix, first name, last name, org unit short name)
PEOPLE = [
    (Role.MUNICIPALITY_ADMIN, "admin", "Andrea", "Admin", "FB 10"),
    (Role.PROCESS_DESIGNER, "designer", "Paul", "Prozess", "Digi"),
    (Role.REVIEWER, "reviewer", "Rita", "Review", "Digi"),
    (Role.CASEWORKER, "caseworker", "Sven", "Sachbearbeitung", "32.1"),
    (Role.ANALYST, "analyst", "Ana", "Analyse", "Digi"),
    (Role.DATA_PUBLISHER, "publisher", "Otto", "Offen", "10.2"),
    (Role.STAFF_MEMBER, "staff", "Mia", "Mitarbeit", "FB 67"),
    (Role.HUMAN_RESOURCES, "hr", "Hanna", "Personal", "FB 10"),
]

CITIZEN_USERNAME = "buergerin"
PLATFORM_ADMIN_USERNAME = "plattform-admin"
