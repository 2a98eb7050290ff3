"""The forum's first categories, installed by migration 0002 and, idempotently, by
``actions.install_default_categories`` (tests that empty the database, the demo).
"""

CATEGORIES = [
    ("onlinedienste", "Onlinedienste und OZG", "Fragen zu gemeinsam entwickelten Onlinediensten", 1),
    ("e-akte", "E-Akte und Prozesse", "Digitale Akte, Prozessmanagement, Automatisierung", 2),
    ("daten", "Daten und Open Data", "Auswertungen, offene Daten, Sensorik", 3),
    ("kompetenzen", "Kompetenzen und Qualifizierung", "Lernen, Schulungen, Erfahrungen", 4),
    ("allgemein", "Allgemeines", "Alles andere rund um die digitale Verwaltung", 5),
]
