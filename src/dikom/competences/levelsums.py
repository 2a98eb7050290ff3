"""The maintained level sums behind the heat map and the roadMAP page (``LevelSum``), in SQL.

Why triggers: the sums must never go stale, and confirmed levels, staff units, profiles and
departures change through many paths (the actions, the admin, imports, demo loading, ``update()``
and ``bulk_create()``, deletes cascading from a user, a unit or a city, retention deletion). A
trigger on ``competences_assessment`` and on ``competences_staffprofile`` runs in the transaction
of every such change, whichever path made it, on SQLite and on PostgreSQL.

Invariant (checked by ``manage.py rebuild_level_sums --check`` and the tests): for every city the
table equals ``rebuild_sql()``, i.e. the sum over the assessments with a confirmed level and a
review time of staff who have not left and have a unit and a role profile, keyed by the staff's
current city, unit and profile, of +level in the quarter of the review and −level in the quarter
it was superseded (never earlier than the review's quarter).

Each trigger keeps the invariant for its own row, reading the other table as it is at that
moment: an assessment row adds or removes its contribution under its person's current group; a
staff row that changes group (unit, profile, city, departure) moves all its person's contributions;
a new staff row adds the contributions of assessments already pointing at it (possible within one
transaction with deferred foreign keys), a deleted one removes them. Removing only ever updates
existing rows (a contribution that was added has its row), so deleting everything in any order
(e.g. ``flush`` on SQLite) leaves no rows behind. Rows that reach zero stay (a rebuild drops them).
"""

# ruff: noqa: S608 (the SQL is assembled from this module's constants only; the one value is a parameter)

from __future__ import annotations

import datetime

from django.db import connection as default_connection

TABLE = "competences_levelsum"
KEY = "municipality_id, org_unit_id, role_profile_id, competence_code, framework_version_id, quarter"
COUNTS = "{s}.org_unit_id IS NOT NULL AND {s}.role_profile_id IS NOT NULL AND {s}.left_on IS NULL"
TRIGGERS = (
    ("competences_assessment", "competences_levelsum_assessment"),
    ("competences_staffprofile", "competences_levelsum_staff"),
)


def quarter_index(moment: datetime.datetime | datetime.date) -> int:
    """year × 4 + quarter − 1, as the ``quarter`` column stores it (UTC for times)."""
    if isinstance(moment, datetime.datetime) and moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC)
    return moment.year * 4 + (moment.month - 1) // 3


def _quarter(vendor: str, column: str) -> str:
    if vendor == "postgresql":
        utc = f"(({column}) AT TIME ZONE 'UTC')"
        return f"(EXTRACT(YEAR FROM {utc})::integer * 4 + (EXTRACT(MONTH FROM {utc})::integer - 1) / 3)"
    # SQLite stores times as UTC text (YYYY-MM-DD HH:MM:SS[.ffffff])
    return f"(CAST(strftime('%Y', {column}) AS INTEGER) * 4 + (CAST(strftime('%m', {column}) AS INTEGER) - 1) / 3)"


def _superseded_quarter(vendor: str, row: str) -> str:
    greatest = "GREATEST" if vendor == "postgresql" else "MAX"
    return f"{greatest}({_quarter(vendor, f'{row}.superseded_at')}, {_quarter(vendor, f'{row}.reviewed_at')})"


def _parts(vendor: str, row: str, *, columns: str = "", source: str = "") -> str:
    """The +level / −level parts of assessment ``row`` (a trigger's NEW/OLD, or a table alias)."""
    confirmed = f"{row}.confirmed_level IS NOT NULL AND {row}.reviewed_at IS NOT NULL"
    return (
        f"SELECT {columns}{_quarter(vendor, f'{row}.reviewed_at')} AS quarter, {row}.confirmed_level AS d "
        f"{source} WHERE {confirmed} "
        f"UNION ALL SELECT {columns}{_superseded_quarter(vendor, row)}, -{row}.confirmed_level "
        f"{source} WHERE {confirmed} AND {row}.superseded_at IS NOT NULL"
    )


def _upsert() -> str:
    return f"ON CONFLICT ({KEY}) DO UPDATE SET delta = {TABLE}.delta + excluded.delta"


def _add_assessment(vendor: str, row: str) -> str:
    per_quarter = f"SELECT quarter, SUM(d) AS d FROM ({_parts(vendor, row)}) AS parts GROUP BY quarter"
    return (
        f"INSERT INTO {TABLE} ({KEY}, delta) "
        f"SELECT s.municipality_id, s.org_unit_id, s.role_profile_id, {row}.competence_code, "
        f"{row}.framework_version_id, c.quarter, c.d "
        f"FROM competences_staffprofile AS s, ({per_quarter}) AS c "
        f"WHERE s.id = {row}.staff_id AND {COUNTS.format(s='s')} {_upsert()}"
    )


def _remove_assessment(vendor: str, row: str) -> str:
    per_quarter = f"SELECT quarter, SUM(d) AS d FROM ({_parts(vendor, row)}) AS parts GROUP BY quarter"
    return (
        f"UPDATE {TABLE} SET delta = {TABLE}.delta - c.d "
        f"FROM competences_staffprofile AS s, ({per_quarter}) AS c "
        f"WHERE s.id = {row}.staff_id AND {COUNTS.format(s='s')} "
        f"AND {TABLE}.municipality_id = s.municipality_id AND {TABLE}.org_unit_id = s.org_unit_id "
        f"AND {TABLE}.role_profile_id = s.role_profile_id AND {TABLE}.competence_code = {row}.competence_code "
        f"AND {TABLE}.framework_version_id = {row}.framework_version_id AND {TABLE}.quarter = c.quarter"
    )


def _person(vendor: str, staff: str) -> str:
    """A person's contributions per (competence, version, quarter)."""
    parts = _parts(
        vendor,
        "a",
        columns="a.competence_code, a.framework_version_id, ",
        source="FROM competences_assessment AS a",
    ).replace("WHERE ", f"WHERE a.staff_id = {staff}.id AND ")
    return (
        f"SELECT parts.competence_code, parts.framework_version_id, parts.quarter, SUM(parts.d) AS d "
        f"FROM ({parts}) AS parts GROUP BY parts.competence_code, parts.framework_version_id, parts.quarter"
    )


def _add_staff(vendor: str, row: str) -> str:
    return (
        f"INSERT INTO {TABLE} ({KEY}, delta) "
        f"SELECT {row}.municipality_id, {row}.org_unit_id, {row}.role_profile_id, c.competence_code, "
        f"c.framework_version_id, c.quarter, c.d FROM ({_person(vendor, row)}) AS c "
        f"WHERE {COUNTS.format(s=row)} {_upsert()}"
    )


def _remove_staff(vendor: str, row: str) -> str:
    return (
        f"UPDATE {TABLE} SET delta = {TABLE}.delta - c.d FROM ({_person(vendor, row)}) AS c "
        f"WHERE {COUNTS.format(s=row)} "
        f"AND {TABLE}.municipality_id = {row}.municipality_id AND {TABLE}.org_unit_id = {row}.org_unit_id "
        f"AND {TABLE}.role_profile_id = {row}.role_profile_id AND {TABLE}.competence_code = c.competence_code "
        f"AND {TABLE}.framework_version_id = c.framework_version_id AND {TABLE}.quarter = c.quarter"
    )


ASSESSMENT_CHANGED = (
    "staff_id",
    "competence_code",
    "framework_version_id",
    "confirmed_level",
    "reviewed_at",
    "superseded_at",
)
STAFF_CHANGED = ("municipality_id", "org_unit_id", "role_profile_id", "left_on")


def _changed(vendor: str, columns: tuple[str, ...]) -> str:
    op = "IS DISTINCT FROM" if vendor == "postgresql" else "IS NOT"
    return " OR ".join(f"OLD.{c} {op} NEW.{c}" for c in columns)


# PostgreSQL: before a trigger touches the sums of a group (city, unit, role profile) it takes a
# transaction-level advisory lock on the group, all the groups of one change in ascending key order.
# Without it the row locks decide: a review locks the current quarter's row first and then the row
# of the quarter the superseded level was reviewed in, while moving a person (or their departure)
# updates all of that person's rows of the group in whatever order the plan yields; each can hold
# the row the other waits for (a deadlock). With the group lock every writer of a group queues
# there, and a change of two groups (a move) takes both in one order.
LOCK_KEY = "hashtextextended('competences_levelsum ' || {unit} || ' ' || {profile}, 0)"


def _lock_groups(groups: str) -> str:
    """plpgsql locking the groups ``(unit, profile)`` that ``groups`` (a SELECT) yields, in key order."""
    key = LOCK_KEY.format(unit="g.unit", profile="g.profile")
    return (
        f"FOR lock_key IN SELECT DISTINCT {key} FROM ({groups}) AS g(unit, profile) "
        f"WHERE g.unit IS NOT NULL AND g.profile IS NOT NULL ORDER BY 1 LOOP\n"
        f"    PERFORM pg_advisory_xact_lock(lock_key);\n  END LOOP"
    )


def _assessment_groups(op_rows: tuple[str, ...]) -> str:
    """The groups of the people whose confirmed levels the assessment rows (OLD/NEW) carry."""
    return " UNION ".join(
        f"SELECT s.org_unit_id, s.role_profile_id FROM competences_staffprofile AS s "
        f"WHERE s.id = {row}.staff_id AND {COUNTS.format(s='s')} "
        f"AND {row}.confirmed_level IS NOT NULL AND {row}.reviewed_at IS NOT NULL"
        for row in op_rows
    )


def _staff_groups(op_rows: tuple[str, ...]) -> str:
    """The groups a staff row (OLD/NEW) counts in."""
    return " UNION ".join(
        f"SELECT {row}.org_unit_id, {row}.role_profile_id WHERE {COUNTS.format(s=row)}" for row in op_rows
    )


def _postgres_lock(name: str) -> str:
    groups = _assessment_groups if name == "competences_levelsum_assessment" else _staff_groups
    return (
        f"  IF TG_OP = 'INSERT' THEN\n  {_lock_groups(groups(('NEW',)))};\n"
        f"  ELSIF TG_OP = 'DELETE' THEN\n  {_lock_groups(groups(('OLD',)))};\n"
        f"  ELSE\n  {_lock_groups(groups(('OLD', 'NEW')))};\n  END IF;\n"
    )


def drop_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        statements = []
        for table, name in TRIGGERS:
            statements += [
                f"DROP TRIGGER IF EXISTS {name}_write ON {table}",
                f"DROP TRIGGER IF EXISTS {name}_update ON {table}",
                f"DROP FUNCTION IF EXISTS {name}()",
            ]
        return statements
    return [f"DROP TRIGGER IF EXISTS {name}_{op}" for _table, name in TRIGGERS for op in ("insert", "delete", "update")]


def install_sql(vendor: str) -> list[str]:
    """The statements creating the triggers (after ``drop_sql``)."""
    bodies = {
        "competences_levelsum_assessment": (
            _add_assessment(vendor, "NEW"),
            _remove_assessment(vendor, "OLD"),
            ASSESSMENT_CHANGED,
        ),
        "competences_levelsum_staff": (_add_staff(vendor, "NEW"), _remove_staff(vendor, "OLD"), STAFF_CHANGED),
    }
    statements = []
    for table, name in TRIGGERS:
        add, remove, changed = bodies[name]
        if vendor == "postgresql":
            statements += [
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                f"DECLARE lock_key bigint;\nBEGIN\n"
                f"{_postgres_lock(name)}"
                f"  IF TG_OP IN ('UPDATE', 'DELETE') THEN\n    {remove};\n  END IF;\n"
                f"  IF TG_OP IN ('INSERT', 'UPDATE') THEN\n    {add};\n  END IF;\n"
                f"  RETURN NULL;\nEND\n$$",
                f"CREATE TRIGGER {name}_write AFTER INSERT OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()",
                f"CREATE TRIGGER {name}_update AFTER UPDATE ON {table} FOR EACH ROW "
                f"WHEN ({_changed(vendor, changed)}) EXECUTE FUNCTION {name}()",
            ]
        else:
            statements += [
                f"CREATE TRIGGER {name}_insert AFTER INSERT ON {table} FOR EACH ROW BEGIN {add}; END",
                f"CREATE TRIGGER {name}_delete AFTER DELETE ON {table} FOR EACH ROW BEGIN {remove}; END",
                f"CREATE TRIGGER {name}_update AFTER UPDATE ON {table} FOR EACH ROW "
                f"WHEN {_changed(vendor, changed)} BEGIN {remove}; {add}; END",
            ]
    return statements


def rebuild_sql(vendor: str, *, municipality_id: int | None = None) -> tuple[list[str], list[list[object]]]:
    """Statements (and their parameters) recomputing the table from the assessments, for one city or all."""
    parts = _parts(
        vendor,
        "a",
        columns="a.staff_id, a.competence_code, a.framework_version_id, ",
        source="FROM competences_assessment AS a",
    )
    city = "" if municipality_id is None else " AND s.municipality_id = %s"
    params: list[object] = [] if municipality_id is None else [municipality_id]
    delete = f"DELETE FROM {TABLE}" + ("" if municipality_id is None else " WHERE municipality_id = %s")
    insert = (
        f"INSERT INTO {TABLE} ({KEY}, delta) "
        f"SELECT s.municipality_id, s.org_unit_id, s.role_profile_id, parts.competence_code, "
        f"parts.framework_version_id, parts.quarter, SUM(parts.d) "
        f"FROM ({parts}) AS parts JOIN competences_staffprofile AS s ON s.id = parts.staff_id "
        f"WHERE {COUNTS.format(s='s')}{city} "
        f"GROUP BY s.municipality_id, s.org_unit_id, s.role_profile_id, parts.competence_code, "
        f"parts.framework_version_id, parts.quarter"
    )
    return [delete, insert], [params, params]


def install(schema_editor_or_connection: object = None) -> None:
    """(Re)create the triggers on the given connection (a migration's schema editor or a connection)."""
    connection = getattr(schema_editor_or_connection, "connection", schema_editor_or_connection) or default_connection
    vendor = connection.vendor  # type: ignore[attr-defined]
    with connection.cursor() as cursor:  # type: ignore[attr-defined]
        for statement in [*drop_sql(vendor), *install_sql(vendor)]:
            cursor.execute(statement)


def rebuild(*, municipality_id: int | None = None, connection: object = None) -> None:
    """Recompute the table (all cities or one) from the assessments; run inside a transaction."""
    connection = connection or default_connection
    statements, params = rebuild_sql(connection.vendor, municipality_id=municipality_id)  # type: ignore[attr-defined]
    with connection.cursor() as cursor:  # type: ignore[attr-defined]
        for statement, values in zip(statements, params, strict=True):
            if values:
                cursor.execute(statement.replace("'%Y'", "'%%Y'").replace("'%m'", "'%%m'"), values)
            else:
                cursor.execute(statement)


def snapshot() -> dict[tuple[object, ...], int]:
    """The table's non-zero sums: (city, unit, profile, competence, framework version, quarter) → delta."""
    from dikom.competences.models import LevelSum  # the migration imports this module

    return {
        key[:-1]: key[-1]
        for key in LevelSum.objects.exclude(delta=0).values_list(
            "municipality_id",
            "org_unit_id",
            "role_profile_id",
            "competence_code",
            "framework_version_id",
            "quarter",
            "delta",
        )
    }
