"""The caseworker's start page and inbox (``/vorgaenge/<slug>/``): tabs, filters, paging, bulk actions."""

from __future__ import annotations

import datetime as dt
import uuid as uuid_module
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import F, Q, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from dikom.accounts.models import Membership, User
from dikom.cases import access, actions, inbox_rows
from dikom.cases.forms import (
    TABS,
    InboxFilterForm,
)
from dikom.cases.models import Case, Task
from dikom.cases.paging import badge, capped_count, page_of
from dikom.cases.views.common import (
    INBOX_KEYS,
    MAX_BULK,
    _colleague,
    _colleague_choices,
    _unit_choices,
)
from dikom.lib import formcache
from dikom.municipalities.models import Municipality

# --- Index and inbox ----------------------------------------------------------------


@login_required
def index(request: HttpRequest) -> HttpResponse:
    """Straight to the user's city; a choice when there are several."""
    cities = list(
        Municipality.objects.filter(
            pk__in=Membership.objects.filter(user=cast(User, request.user), role__in=access.CASE_ROLES).values(
                "municipality_id"
            )
        ).order_by("name")
    )
    if not cities:
        raise PermissionDenied
    if len(cities) == 1:
        return redirect("cases:inbox", slug=cities[0].slug)
    return render(request, "cases/index.html", {"cities": cities})


def _due_order(prefix: str, descending: bool) -> list[Any]:
    due = F(f"{prefix}due_at")
    return [due.desc(nulls_last=True) if descending else due.asc(nulls_last=True)]


def _filter_tasks(tasks: QuerySet[Task], filters: dict[str, Any], now: dt.datetime) -> QuerySet[Task]:
    if filters.get("status"):
        tasks = tasks.filter(case__status=filters["status"])
    if filters.get("service"):
        tasks = tasks.filter(case__service_slug=filters["service"])
    if filters.get("unit"):
        tasks = tasks.filter(org_unit__uuid=filters["unit"])
    if filters.get("overdue"):
        tasks = tasks.filter(due_at__lt=now)
    if filters.get("q"):
        q = filters["q"].strip()
        tasks = tasks.filter(
            Q(case__reference__icontains=q) | Q(case__service_title__icontains=q) | Q(name__icontains=q)
        )
    descending = filters.get("sort") == "-due"
    return tasks.order_by(*_due_order("", descending), "case__opened_at", "pk")


def _filter_cases(cases: QuerySet[Case], filters: dict[str, Any], now: dt.datetime) -> QuerySet[Case]:
    if filters.get("status"):
        cases = cases.filter(status=filters["status"])
    if filters.get("service"):
        cases = cases.filter(service_slug=filters["service"])
    if filters.get("unit"):
        cases = cases.filter(org_unit__uuid=filters["unit"])
    if filters.get("overdue"):
        cases = cases.filter(due_at__lt=now, status__in=[Case.Status.OPEN, Case.Status.WAITING])
    if filters.get("q"):
        q = filters["q"].strip()
        cases = cases.filter(Q(reference__icontains=q) | Q(service_title__icontains=q))
    descending = filters.get("sort") == "-due"
    return cases.order_by(*_due_order("", descending), "-opened_at", "-pk")


@login_required
def inbox(request: HttpRequest, slug: str) -> HttpResponse:
    """My tasks, my units' unassigned tasks, or every case I may see; filters, search, bulk actions."""
    municipality = access.get_municipality_for_cases(request.user, slug)
    user = request.user
    tab = request.GET.get("tab", "")
    now = timezone.now()
    visible = access.visible_cases(user, municipality)
    services: dict[str, str] = {}
    for service_slug, title in visible.order_by().values_list("service_slug", "service_title").distinct():
        services.setdefault(service_slug, title)
    units = _unit_choices(municipality)
    form = InboxFilterForm(
        request.GET or None,
        services=sorted(services.items(), key=lambda item: item[1].casefold()),
        units=units,
    )
    status = 200
    filters: dict[str, Any] = {}
    if form.is_bound:
        if form.is_valid():
            filters = form.cleaned_data
        else:
            status = 400
    my_units = access.unit_ids(user, municipality)
    open_tasks = Task.objects.filter(case__municipality=municipality, status=Task.Status.OPEN)
    mine = open_tasks.filter(assignee=cast(User, user))
    of_units = open_tasks.filter(assignee__isnull=True, org_unit_id__in=my_units)
    # The tabs' badges count up to paging.TAB_COUNT_CAP (shown as "1000+"): counting a large city's every
    # visible case on each request cost more than the rest of the page. The shown tab's list is
    # counted exactly, in the statement that selects its page.
    of_tab: dict[str, QuerySet[Any]] = {"mine": mine, "unit": of_units, "all": visible}
    capped: dict[str, int] = {}

    def tab_count(key: str) -> int:
        if key not in capped:
            capped[key] = capped_count(of_tab[key])
        return capped[key]

    if tab not in TABS:
        # Opened without a choice: the first view that has something in it, so that a caseworker with no
        # task of their own yet (a new colleague, the demo) meets their unit's tasks, not an empty list.
        tab = next((key for key in ("mine", "unit") if tab_count(key)), "mine" if tab_count("all") == 0 else "all")
    rows: QuerySet[Any]
    if tab == "all":
        rows = _filter_cases(visible.select_related("org_unit").defer("process_xml", "workflow_state"), filters, now)
    else:
        rows = _filter_tasks(
            (mine if tab == "mine" else of_units)
            .select_related("case", "org_unit", "assignee")
            .defer("case__process_xml", "case__workflow_state"),
            filters,
            now,
        )
    page = page_of(rows, request.GET.get("page"))
    counts = {key: page.paginator.count if key == tab and not filters else tab_count(key) for key in TABS}
    context = {
        "municipality": municipality,
        "tab": tab,
        "tabs": [
            ("mine", _("My tasks"), badge(counts["mine"])),
            ("unit", _("Tasks of my unit"), badge(counts["unit"])),
            ("all", _("All cases"), badge(counts["all"])),
        ],
        "form": formcache.rendered(form),
        "page": page,
        "rows": (inbox_rows.case_rows if tab == "all" else inbox_rows.task_rows)(
            page.object_list, municipality.slug, now
        ),
        "now": now,
        "has_units": bool(my_units),
        "colleagues": _colleague_choices(municipality) if tab != "all" else [],
        "back": request.GET.urlencode(),
        "can_manage_webhooks": access.can_manage_webhooks(user, municipality),
    }
    return render(request, "cases/inbox.html", context, status=status)


def _back_to_inbox(municipality: Municipality, back: str) -> str:
    kept = QueryDict(mutable=True)
    given = QueryDict(back[:2000])
    for key in INBOX_KEYS:
        if key in given:
            kept[key] = given[key][:200]
    url = reverse("cases:inbox", args=[municipality.slug])
    return f"{url}?{kept.urlencode()}" if kept else url


def _stale_report(label: str, task: Task) -> str:
    if task.status != Task.Status.OPEN:
        now = _("done")
    elif task.assignee_id is not None:
        assignee = task.assignee
        now = _("with %(who)s") % {"who": (assignee.get_full_name() or assignee.get_username()) if assignee else "?"}
    else:
        now = _("unassigned")
    return _("%(task)s: changed by someone else in the meantime (now %(state)s); nothing was done.") % {
        "task": label,
        "state": now,
    }


@login_required
@require_POST
def bulk(request: HttpRequest, slug: str) -> HttpResponse:
    """Claim, hand over or give back the selected tasks, each on its own; report each task's outcome."""
    municipality = access.get_municipality_for_cases(request.user, slug)
    user = request.user
    back = _back_to_inbox(municipality, request.POST.get("back", ""))
    action = request.POST.get("action", "")
    selected = list(dict.fromkeys(request.POST.getlist("task")))[:MAX_BULK]
    if action not in {"claim", "assign", "release"}:
        messages.error(request, _("Please choose what to do with the selected tasks."))
        return redirect(back)
    if not selected:
        messages.error(request, _("Please select at least one task."))
        return redirect(back)
    colleague: Any = None
    if action == "assign":
        colleague = _colleague(municipality, request.POST.get("assignee", ""))
        if colleague is None:
            messages.error(request, _("Please choose the colleague to hand the tasks over to."))
            return redirect(back)
    keys = []
    for key in selected:
        try:
            keys.append(uuid_module.UUID(key))
        except ValueError:
            continue
    tasks = {
        str(t.uuid): t
        for t in Task.objects.filter(uuid__in=keys, case__municipality=municipality).select_related("case", "assignee")
    }
    visible = set(
        access.visible_cases(user, municipality)
        .filter(pk__in=[t.case_id for t in tasks.values()])
        .values_list("pk", flat=True)
    )
    for key in selected:
        task = tasks.get(key)
        if task is None or task.case_id not in visible:
            messages.error(request, _("A selected task was not found."))
            continue
        task.case.municipality = municipality
        label = f"{task.case.reference} – {task.name}"
        try:
            version = int(request.POST.get(f"version-{key}", ""))
        except ValueError:
            messages.error(request, _("%(task)s: the page was incomplete; please reload it.") % {"task": label})
            continue
        if version != task.lock_version:
            # Changed since the page was loaded (taken, handed over, done): say so, whoever may act now.
            messages.warning(request, _stale_report(label, task))
            continue
        if not access.may_work_on_task(user, task):
            messages.error(request, _("%(task)s: you may not work on this task.") % {"task": label})
            continue
        try:
            if action == "claim":
                actions.claim_task(task, user, expected_version=version)
                done = _("%(task)s: taken over.") % {"task": label}
            elif action == "assign":
                actions.assign_task(task, user, colleague, expected_version=version)
                done = _("%(task)s: handed over to %(who)s.") % {
                    "task": label,
                    "who": colleague.get_full_name() or colleague.get_username(),
                }
            else:
                actions.assign_task(task, user, None, expected_version=version)
                done = _("%(task)s: given back to the unit.") % {"task": label}
        except actions.StaleTask as exc:
            messages.warning(
                request,
                _("%(task)s: changed by someone else in the meantime. %(error)s") % {"task": label, "error": exc},
            )
        except actions.CaseActionError as exc:
            messages.error(request, f"{label}: {exc}")
        else:
            messages.success(request, done)
    return redirect(back)
