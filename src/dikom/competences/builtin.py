"""Data the competences app ships: the clusters of the Virtual Competence Center the cooperation starts with.

Installed by migration 0004 and, idempotently, by ``actions.install_builtin_clusters`` (tests that empty the
database, the demo).
"""

CLUSTERS = [
    ("e-akte", "E-Akte und Dokumentenmanagement", "Elektronische Akte, Scannen, Aufbewahrung.", ["1.3", "2.2", "4.2"]),
    (
        "ozg",
        "OZG-Umsetzung und Onlinedienste",
        "Onlinedienste planen, bauen und einführen.",
        ["2.1", "2.4", "3.1", "5.2"],
    ),
    ("rpa", "Prozessautomatisierung (RPA)", "Wiederkehrende Arbeit automatisieren.", ["3.4", "5.2", "5.3"]),
    ("open-data", "Open Data", "Daten der Verwaltung offen bereitstellen.", ["1.1", "1.2", "1.3", "3.3"]),
    (
        "it-sicherheit",
        "IT-Sicherheit und Datenschutz",
        "Geräte, Daten und Identitäten schützen.",
        ["4.1", "4.2", "2.6"],
    ),
]
