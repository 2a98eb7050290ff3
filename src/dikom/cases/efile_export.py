"""Turn a closed case into the e-file's plain data (``efile.model.CaseFile``) and an xdomea package."""

from __future__ import annotations

import uuid

from dikom.cases.efile import model
from dikom.cases.efile import service as efile
from dikom.cases.models import Case, CaseDocument

OUTCOMES = {
    Case.Outcome.APPROVED: model.Outcome.APPROVE,
    Case.Outcome.PARTLY_APPROVED: model.Outcome.PARTLY,
    Case.Outcome.REJECTED: model.Outcome.REJECT,
}
KINDS = {
    CaseDocument.Kind.APPLICATION: model.DocumentKind.APPLICATION,
    CaseDocument.Kind.ATTACHMENT: model.DocumentKind.ATTACHMENT,
    CaseDocument.Kind.LETTER: model.DocumentKind.DECISION_LETTER,
    CaseDocument.Kind.OTHER: model.DocumentKind.NOTE,
}

# The e-file is an official German record (like the letters), whatever the staff's UI language:
# the history's actions and actors are written in German, never as the internal event kinds.
HISTORY_ACTIONS = {
    "opened": "Antrag eingegangen, Fall eröffnet",
    "task_created": "Aufgabe angelegt",
    "task_assigned": "Aufgabe zugewiesen",
    "task_claimed": "Aufgabe übernommen",
    "task_completed": "Aufgabe erledigt",
    "task_cancelled": "Aufgabe abgebrochen",
    "consulted": "Andere Stelle beteiligt",
    "information_requested": "Unterlagen oder Angaben nachgefordert",
    "information_received": "Nachgeforderte Angaben eingegangen",
    "message_sent": "Nachricht an Antragsteller/in gesendet",
    "messages_read": "Nachrichten gelesen",
    "reminder": "Erinnerung versandt",
    "resumed": "Bearbeitung fortgesetzt",
    "timer_fired": "Frist abgelaufen",
    "note": "Vermerk",
    "rule_applied": "Regel angewendet",
    "decision_drafted": "Bescheid entworfen",
    "signed_off": "Zweite Zeichnung erteilt",
    "decided": "Entscheidung getroffen",
    "document_generated": "Dokument erzeugt",
    "letter_delivered": "Bescheid zugestellt",
    "notified": "Benachrichtigung versandt",
    "media_break": "Medienbruch vermerkt",
    "webhook_called": "Externes System benachrichtigt",
    "workflow_error": "Fehler im Prozessablauf",
    "closed": "Fall abgeschlossen",
    "efile_retry": "Übergabe an die E-Akte wiederholt",
    "efile_transferred": "An die E-Akte übergeben",
}
ACTOR_ROLES = {"automation": "Automatisierung", "caseworker": "Sachbearbeitung", "system": "System"}


def history_action(kind: str) -> str:
    """The German action of a case event kind; an unknown kind still reads as German."""
    return HISTORY_ACTIONS.get(kind) or f"Bearbeitungsschritt ({kind})"


def application_document(case: Case) -> model.Document:
    """The citizen's application: the very receipt PDF/A the citizen downloads from the portal."""
    from dikom.portal.receipt import receipt_pdf

    application = case.application
    return model.Document(
        uuid=uuid.uuid5(case.uuid, "application-pdf"),
        title=f"Antrag {application.reference}",
        file_name=f"Antrag-{application.reference}.pdf",
        media_type="application/pdf",
        created_at=application.submitted_at or case.opened_at,
        kind=model.DocumentKind.APPLICATION,
        content=receipt_pdf(application),
        archival=True,
    )


def case_file_for(case: Case) -> model.CaseFile:
    """The case as the e-file sees it: roles instead of staff names, documents with their bytes."""
    documents = []
    for document in case.documents.all():
        with document.file.open("rb") as handle:
            content = handle.read()
        documents.append(
            model.Document(
                uuid=document.uuid,
                title=document.title,
                file_name=document.file_name,
                media_type=document.content_type,
                created_at=document.created_at,
                kind=KINDS[CaseDocument.Kind(document.kind)],
                content=content,
                archival=document.kind == CaseDocument.Kind.LETTER,
            )
        )
    if not any(d.kind == model.DocumentKind.APPLICATION for d in documents):
        documents.insert(0, application_document(case))
    decision = None
    if case.outcome and case.decided_at is not None:
        decision = model.Decision(
            outcome=OUTCOMES[Case.Outcome(case.outcome)],
            reasons=case.decision_reasons,
            decided_at=case.decided_at,
            decided_by_role="automation" if case.decided_automatically else "caseworker",
            automatic=case.decided_automatically,
        )
    history = tuple(
        model.HistoryEntry(
            timestamp=event.created_at,
            action=history_action(event.kind),
            actor_role=ACTOR_ROLES["automation" if event.automatic else ("caseworker" if event.actor_id else "system")],
            note=event.text,
        )
        for event in case.events.all()
    )
    identity = (case.application.version.content or {}).get("identity") or {}
    return model.CaseFile(
        uuid=case.uuid,
        reference=case.reference,
        title=f"{case.service_title} {case.reference}",
        municipality_name=case.municipality.name,
        municipality_ags=case.municipality.ags,
        org_unit=case.org_unit.name if case.org_unit else "",
        service_title=case.service_title,
        opened_at=case.opened_at,
        closed_at=case.closed_at or case.updated_at,
        status=case.status,
        result=case.outcome,
        leika_key=str(identity.get("leika_key") or ""),
        documents=tuple(documents),
        decision=decision,
        history=history,
    )


def package_for(case: Case) -> efile.ExportPackage:
    """The xdomea package; the same closed case always gets the same ProzessID (retries are idempotent)."""
    process_id = uuid.uuid5(case.uuid, f"efile:{case.closed_at.isoformat() if case.closed_at else ''}")
    return efile.export_case_file(case_file_for(case), process_id=process_id, created_at=case.closed_at)
