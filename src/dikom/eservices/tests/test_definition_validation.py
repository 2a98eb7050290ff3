"""Release checks of a definition: every problem has its own code, path and message."""

from __future__ import annotations

import copy

import pytest

from dikom.eservices.definition import FORMAT, empty_definition, field_paths, validate_definition


def service() -> dict:
    """A small, valid dog-tax service used as the base of every case."""
    return {
        "format": FORMAT,
        "identity": {
            "title": {"de": "Hundesteuer anmelden", "en": "Register dog tax"},
            "description": {"de": "Anmeldung eines Hundes"},
            "leika_key": "99018001001000",
            "ozg_topic": "Steuern",
            "keywords": ["Hund"],
        },
        "steps": [
            {
                "key": "halter",
                "title": {"de": "Antragsteller"},
                "fields": [
                    {"key": "vorname", "type": "text", "label": {"de": "Vorname"}, "required": True},
                    {"key": "listenhund", "type": "yes_no", "label": {"de": "Listenhund?"}, "required": True},
                    {
                        "key": "rasse",
                        "type": "select",
                        "label": {"de": "Rasse"},
                        "options": [{"value": "pitbull", "label": {"de": "Pitbull"}}],
                        "visible_if": {"==": [{"var": "halter.listenhund"}, "yes"]},
                    },
                ],
            },
            {
                "key": "nachweise",
                "title": {"de": "Nachweise"},
                "visible_if": {"==": [{"var": "halter.listenhund"}, "yes"]},
                "fields": [
                    {
                        "key": "wesenstest",
                        "type": "file",
                        "label": {"de": "Wesenstest"},
                        "accept": ["application/pdf"],
                        "max_bytes": 5_000_000,
                        "required": True,
                    },
                    {
                        "key": "hunde",
                        "type": "repeating_group",
                        "label": {"de": "Hunde"},
                        "min_items": 1,
                        "max_items": 5,
                        "fields": [
                            {"key": "name", "type": "text", "label": {"de": "Name"}},
                            {
                                "key": "chip",
                                "type": "text",
                                "label": {"de": "Chipnummer"},
                                "required_if": {"!=": [{"var": "nachweise.hunde.name"}, ""]},
                                "validation": {"pattern": "[0-9]{15}"},
                            },
                        ],
                    },
                ],
            },
        ],
        "fees": [
            {"key": "steuer", "label": {"de": "Hundesteuer"}, "amount_cents": 9000, "locally_adjustable": True},
            {
                "key": "zuschlag",
                "label": {"de": "Zuschlag Listenhund"},
                "amount_cents": None,
                "amount_rule": {"if": [{"==": [{"var": "halter.listenhund"}, "yes"]}, 50000, 0]},
            },
        ],
        "summary_step": True,
        "trust_level": "substantial",
        "auth_methods": ["bundid", "elster"],
        "payment_required": True,
        "documents": [{"key": "bescheid", "title": {"de": "Steuerbescheid"}, "kind": "decision"}],
    }


def codes(data: dict) -> list[str]:
    return [problem.code for problem in validate_definition(data)]


def test_valid_service_and_empty_definition_are_releasable():
    assert validate_definition(service()) == []
    assert validate_definition(empty_definition("Sperrmüll")) == []


def mutate(change):
    data = service()
    change(data)
    return validate_definition(data)


def first(problems, code):
    found = [p for p in problems if p.code == code]
    assert found, [(p.code, p.path) for p in problems]
    return found[0]


def test_unknown_field_type():
    problem = first(mutate(lambda d: d["steps"][0]["fields"][0].update(type="signature")), "unknown_field_type")
    assert problem.path == "steps[0].fields[0].type"
    assert "Vorname" in problem.message and "Antragsteller" in problem.message


def test_duplicate_keys_of_steps_and_fields():
    problems = mutate(lambda d: d["steps"][1].update(key="halter"))
    assert first(problems, "duplicate_key").path == "steps[1].key"
    problems = mutate(lambda d: d["steps"][0]["fields"][1].update(key="vorname"))
    assert first(problems, "duplicate_key").path == "steps[0].fields[1].key"


def test_same_key_in_different_scopes_is_fine():
    data = service()
    data["steps"][1]["fields"][1]["fields"][1]["key"] = "wesenstest"  # inside the group: own scope
    assert validate_definition(data) == []


def test_missing_reference():
    problem = first(
        mutate(lambda d: d["steps"][0]["fields"][2].update(visible_if={"==": [{"var": "halter.gibtsnicht"}, 1]})),
        "missing_reference",
    )
    assert problem.path == "steps[0].fields[2].visible_if"
    assert "halter.gibtsnicht" in problem.message


def test_reference_to_a_later_step():
    problem = first(
        mutate(lambda d: d["steps"][0]["fields"][0].update(required_if={"!!": [{"var": "nachweise.wesenstest"}]})),
        "forward_reference",
    )
    assert problem.path == "steps[0].fields[0].required_if"


def test_step_visibility_may_not_depend_on_its_own_fields():
    problem = first(
        mutate(lambda d: d["steps"][1].update(visible_if={"!!": [{"var": "nachweise.wesenstest"}]})),
        "forward_reference",
    )
    assert problem.path == "steps[1].visible_if"


def test_group_fields_only_visible_to_their_group():
    problems = mutate(lambda d: d["steps"][1]["fields"][0].update(visible_if={"!!": [{"var": "nachweise.hunde.name"}]}))
    assert "group_reference" in [p.code for p in problems]


def test_rule_cycle():
    def change(d):
        fields = d["steps"][0]["fields"]
        fields[0]["visible_if"] = {"==": [{"var": "halter.listenhund"}, "yes"]}
        fields[1]["visible_if"] = {"!!": [{"var": "halter.vorname"}]}

    problem = first(mutate(change), "rule_cycle")
    assert "Vorname" in problem.message and "Listenhund?" in problem.message
    assert len([c for c in codes_after(change) if c == "rule_cycle"]) == 1


def codes_after(change):
    return [p.code for p in mutate(change)]


def test_self_reference_is_a_cycle():
    assert "rule_cycle" in codes_after(
        lambda d: d["steps"][0]["fields"][0].update(visible_if={"!!": [{"var": "halter.vorname"}]})
    )


@pytest.mark.parametrize(
    "rule",
    [
        False,
        {"==": [1, 2]},
        {"and": [{"==": [{"var": "halter.listenhund"}, "yes"]}, {"==": [{"var": "halter.listenhund"}, "no"]}]},
        {"and": [{">": [{"var": "halter.vorname"}, 10]}, {"<": [{"var": "halter.vorname"}, 5]}]},
        {"and": [{"==": [{"var": "halter.vorname"}, "x"]}, {"!=": [{"var": "halter.vorname"}, "x"]}]},
        {"==": [{"var": "halter.listenhund"}, "ja"]},  # yes_no answers are "yes"/"no"
        {"==": [{"var": "halter.rasse"}, "dackel"]},  # not an option
        {"in": [{"var": "halter.rasse"}, ["dackel", "mops"]]},
    ],
)
def test_unreachable_step(rule):
    problem = first(mutate(lambda d: d["steps"][1].update(visible_if=rule)), "unreachable_step")
    assert problem.path == "steps[1].visible_if"
    assert "Nachweise" in problem.message


def test_satisfiable_conditions_are_not_flagged():
    rule = {"and": [{">=": [{"var": "halter.vorname"}, 5]}, {"<=": [{"var": "halter.vorname"}, 5]}]}
    assert "unreachable_step" not in codes_after(lambda d: d["steps"][1].update(visible_if=rule))


@pytest.mark.parametrize(
    ("change", "code", "path"),
    [
        (
            lambda d: d["steps"][0]["fields"][2].update(options=[]),
            "select_without_options",
            "steps[0].fields[2].options",
        ),
        (lambda d: d["steps"][1]["fields"][0].pop("accept"), "file_without_accept", "steps[1].fields[0].accept"),
        (
            lambda d: d["steps"][1]["fields"][0].pop("max_bytes"),
            "file_without_max_bytes",
            "steps[1].fields[0].max_bytes",
        ),
        (
            lambda d: d["steps"][1]["fields"][0].update(max_bytes=26 * 1024 * 1024),
            "file_too_large",
            "steps[1].fields[0].max_bytes",
        ),
        (lambda d: d["identity"].update(leika_key="12345"), "invalid_leika_key", "identity.leika_key"),
        (lambda d: d["identity"].update(title={"en": "Dog tax"}), "missing_title", "identity.title"),
        (
            lambda d: d["steps"][0]["fields"][0].update(validation={"pattern": "[a-"}),
            "invalid_pattern",
            "steps[0].fields[0].validation.pattern",
        ),
        (
            lambda d: d["steps"][0]["fields"][0].update(validation={"pattern": "(a+)+$"}),
            "invalid_pattern",
            "steps[0].fields[0].validation.pattern",
        ),
        (lambda d: d["fees"][0].update(amount_cents=None), "fee_without_amount", "fees[0]"),
        (lambda d: d.update(fees=[]), "payment_without_fee", "payment_required"),
        (lambda d: d.update(auth_methods=["bundid", "facebook"]), "unknown_auth_method", "auth_methods[1]"),
        (lambda d: d.update(trust_level="high", auth_methods=["none"]), "trust_level_mismatch", "auth_methods"),
        (lambda d: d.update(trust_level="very"), "invalid_trust_level", "trust_level"),
        (lambda d: d.update(steps=[]), "no_steps", "steps"),
        (lambda d: d.update(format="other/1"), "unknown_format", "format"),
        (lambda d: d["steps"][0].update(key="Halter Schritt"), "invalid_key", "steps[0].key"),
        (lambda d: d["steps"][0]["fields"][0].update(label={}), "missing_label", "steps[0].fields[0].label"),
        (
            lambda d: d["steps"][0]["fields"][0].update(visible_if={"foo": [1]}),
            "invalid_rule",
            "steps[0].fields[0].visible_if",
        ),
        (
            lambda d: d["steps"][0]["fields"][0].update(validation={"min_date": "gestern"}),
            "invalid_date_bound",
            "steps[0].fields[0].validation.min_date",
        ),
        (
            lambda d: d["steps"][1]["fields"][1].update(min_items=6),
            "invalid_bounds",
            "steps[1].fields[1]",
        ),
        (lambda d: d["documents"][0].update(kind="letter"), "invalid_document_kind", "documents[0].kind"),
    ],
)
def test_problem_codes_and_paths(change, code, path):
    problem = first(mutate(change), code)
    assert problem.path == path
    assert problem.message


def test_not_an_object():
    assert codes([]) == ["not_an_object"]  # type: ignore[arg-type]


def test_field_paths_lists_steps_and_fields_in_order():
    paths = field_paths(service())
    assert paths[0] == ("steps[0]", "Step “Antragsteller”") or paths[0][0] == "steps[0]"
    assert [p for p, _label in paths] == [
        "steps[0]",
        "steps[0].fields[0]",
        "steps[0].fields[1]",
        "steps[0].fields[2]",
        "steps[1]",
        "steps[1].fields[0]",
        "steps[1].fields[1]",
        "steps[1].fields[1].fields[0]",
        "steps[1].fields[1].fields[1]",
    ]
    assert "Vorname" in paths[1][1] and "Antragsteller" in paths[1][1]
    assert "Hunde › Name" in paths[7][1]


def test_validation_does_not_modify_its_input():
    data = service()
    before = copy.deepcopy(data)
    validate_definition(data)
    assert data == before
