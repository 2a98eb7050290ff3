"""Forms of the designer, review and adoption pages.

The designer edits a JSON definition piece by piece. Each editor form reads
its piece from the definition (``initial_from``) and writes it back into a
copy (``apply``); the view hands the new definition to
``actions.update_draft``. Nothing here touches the database except the
adoption form's org-unit choices.

Split by concern: ``base`` (labels, keys, the concurrency check, rules),
``editor`` (the service as a whole and its steps), ``fields`` (one field),
``processing`` (BPMN, lanes, decisions, letter), ``review`` (review,
adoption, library search). Everything is importable from here.
"""

from dikom.eservices.forms.base import (
    AUTH_METHOD_LABELS,
    DOCUMENT_KIND_LABELS,
    FIELD_TYPE_LABELS,
    KEY_RE,
    RULE_KEYS,
    TRUST_LEVEL_LABELS,
    ConcurrencyMixin,
    decimal_input,
    lang,
    parse_rule,
    rename_variables,
    rule_text,
    translated,
    unique_key,
    variables_of,
)
from dikom.eservices.forms.editor import (
    AddStepForm,
    CreateServiceForm,
    DocumentForm,
    FeeForm,
    IdentityForm,
    ImportServiceForm,
    SettingsForm,
    StepForm,
)
from dikom.eservices.forms.fields import AddFieldForm, FieldForm
from dikom.eservices.forms.processing import ProcessSettingsForm, ProcessUploadForm, with_process
from dikom.eservices.forms.review import AdoptionForm, CommentForm, DecisionForm, LibrarySearchForm

__all__ = [
    "AUTH_METHOD_LABELS",
    "DOCUMENT_KIND_LABELS",
    "FIELD_TYPE_LABELS",
    "KEY_RE",
    "RULE_KEYS",
    "TRUST_LEVEL_LABELS",
    "AddFieldForm",
    "AddStepForm",
    "AdoptionForm",
    "CommentForm",
    "ConcurrencyMixin",
    "CreateServiceForm",
    "DecisionForm",
    "DocumentForm",
    "FeeForm",
    "FieldForm",
    "IdentityForm",
    "ImportServiceForm",
    "LibrarySearchForm",
    "ProcessSettingsForm",
    "ProcessUploadForm",
    "SettingsForm",
    "StepForm",
    "decimal_input",
    "lang",
    "parse_rule",
    "rename_variables",
    "rule_text",
    "translated",
    "unique_key",
    "variables_of",
    "with_process",
]
