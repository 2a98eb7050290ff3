"""Pages of the service library: library, my city's services, the designer,
review, version history, adoption, notifications.

Thin: ``access.py`` decides who may see or do what (404 for what a user may
not see, 403 for what he may see but not change), ``actions.py`` changes
state, ``forms`` turns form input into definition changes. Every form
works without JavaScript; ``static/eservices/designer.js`` only refreshes the
live preview while typing.

Split by page group: ``library``, ``review``, ``designer`` (steps and fields),
``designer_settings`` (fees, settings, documents), ``designer_process`` (BPMN, lanes,
decisions, letter), ``adoption`` (and notifications); ``preview`` and ``common`` hold
what they share. ``urls.py`` names the views through this package.
"""

from dikom.eservices.views.adoption import (
    adoption,
    adoption_upgrade,
    notification_read,
    notifications,
)
from dikom.eservices.views.designer import (
    edit,
    edit_field,
    edit_identity,
    edit_step,
    field_add,
    field_delete,
    field_move,
    preview,
    step_add,
    step_delete,
    step_move,
    submit,
    withdraw,
)
from dikom.eservices.views.designer_process import (
    edit_process,
    process_delete,
    process_upload,
)
from dikom.eservices.views.designer_settings import (
    document_add,
    document_delete,
    edit_fee,
    edit_fees,
    edit_settings,
    fee_delete,
)
from dikom.eservices.views.library import (
    create,
    detail,
    export_version,
    import_service,
    library,
    mine,
    new_version,
)
from dikom.eservices.views.review import (
    comment_resolve,
    review_comment,
    review_decide,
    version_detail,
)

__all__ = [
    "adoption",
    "adoption_upgrade",
    "comment_resolve",
    "create",
    "detail",
    "document_add",
    "document_delete",
    "edit",
    "edit_fee",
    "edit_fees",
    "edit_field",
    "edit_identity",
    "edit_process",
    "edit_settings",
    "edit_step",
    "export_version",
    "fee_delete",
    "field_add",
    "field_delete",
    "field_move",
    "import_service",
    "library",
    "mine",
    "new_version",
    "notification_read",
    "notifications",
    "preview",
    "process_delete",
    "process_upload",
    "review_comment",
    "review_decide",
    "step_add",
    "step_delete",
    "step_move",
    "submit",
    "version_detail",
    "withdraw",
]
