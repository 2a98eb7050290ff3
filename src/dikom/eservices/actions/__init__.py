"""State changes of the service library: the only code that writes definitions,
versions, reviews, comments, adoptions and notifications.

Every function runs in one transaction, writes an audit event and leaves side
effects (notifications are rows, so they commit with the change). Permission
checks happen before, in ``access.py``; the rules of the workflow (which
status allows what, the quorum, the local settings) are enforced here.

Split by concern: ``editing`` (create, edit, submit, withdraw, new version),
``review`` (reviews, comments, release), ``adoption`` (a city adopts, adjusts
and upgrades a service; notifications), ``common`` (errors, quorum, helpers).
Callers import from here.
"""

from dikom.eservices.actions.adoption import (
    PHONE,
    LocalSettings,
    adjustable_fees,
    adopt_service,
    check_local_settings,
    mark_notification_read,
    update_adoption,
    upgrade_adoption,
)
from dikom.eservices.actions.common import (
    DEFAULT_RELEASE_QUORUM,
    MAX_FEE_CENTS,
    RESERVED_SLUGS,
    SubmissionBlocked,
    WorkflowError,
    release_quorum,
)
from dikom.eservices.actions.editing import (
    create_service,
    start_new_version,
    submit_for_review,
    update_draft,
    withdraw_version,
)
from dikom.eservices.actions.review import (
    add_comment,
    current_approvals,
    open_comments,
    resolve_comment,
    review_version,
)

__all__ = [
    "DEFAULT_RELEASE_QUORUM",
    "MAX_FEE_CENTS",
    "PHONE",
    "RESERVED_SLUGS",
    "LocalSettings",
    "SubmissionBlocked",
    "WorkflowError",
    "add_comment",
    "adjustable_fees",
    "adopt_service",
    "check_local_settings",
    "create_service",
    "current_approvals",
    "mark_notification_read",
    "open_comments",
    "release_quorum",
    "resolve_comment",
    "review_version",
    "start_new_version",
    "submit_for_review",
    "update_adoption",
    "update_draft",
    "upgrade_adoption",
    "withdraw_version",
]
