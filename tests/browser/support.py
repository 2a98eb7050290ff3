"""What the browser journeys do and check: log in through the form, run axe-core."""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE_JS = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = {"serious", "critical"}


def assert_no_csp_violations(page: Any) -> None:
    """The page ran without anything the Content-Security-Policy had to block."""
    assert not page.csp_violations, "Content-Security-Policy blocked something:\n" + "\n".join(page.csp_violations)


def run_axe(page: Any) -> list[dict[str, Any]]:
    """Run axe-core on the current page; return its violations, trimmed for reporting.

    axe is injected with ``page.evaluate`` and not with ``add_script_tag``: our CSP
    (``script-src 'self'``, no ``unsafe-inline``) would block an inline script tag,
    and ``bypass_csp=True`` would switch the policy off for the whole page, hiding
    any real CSP breakage from these tests. Code run through the DevTools protocol
    (``evaluate``) is not subject to the page's CSP, so the page stays as users get it.
    """
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # "; 0": the script's own completion value (large, not serialisable) is not sent back.
        page.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;0")
    return page.evaluate(
        """async (tags) => {
            const results = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
            return results.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map((n) => ({target: n.target.join(" "), summary: n.failureSummary})),
            }));
        }""",
        AXE_TAGS,
    )


def assert_stylesheets_loaded(page: Any) -> None:
    """Every stylesheet of the page loaded: otherwise axe would judge colours and focus of an unstyled page."""
    broken = page.evaluate(
        """() => [...document.querySelectorAll('link[rel="stylesheet"]')]
            .filter((link) => !link.sheet || link.sheet.cssRules.length === 0)
            .map((link) => link.href)"""
    )
    assert not broken, f"stylesheets did not load on {page.url}: {broken}"


def assert_accessible(page: Any) -> None:
    """axe-core finds no serious or critical WCAG 2.1 A/AA violation on the current page.

    Moderate and minor findings are printed (visible with ``-s`` or on failure) but do not fail.
    """
    assert_stylesheets_loaded(page)
    violations = run_axe(page)
    lines = []
    for violation in violations:
        lines.append(f"[{violation['impact']}] {violation['id']}: {violation['help']} ({violation['helpUrl']})")
        lines.extend(
            f"    {node['target']}: {' '.join((node['summary'] or '').split())}" for node in violation["nodes"]
        )
    if lines:
        print(f"axe-core on {page.url}:\n" + "\n".join(lines))
    failing = [v for v in violations if v["impact"] in FAILING_IMPACTS]
    assert not failing, (
        f"axe-core found {len(failing)} serious or critical violation(s) on {page.url}: "
        + ", ".join(f"{v['id']} ({v['impact']})" for v in failing)
        + "\n"
        + "\n".join(lines)
    )


def log_in(page: Any, username: str, password: str) -> None:
    """Log in through the real form, as a person would."""
    page.goto("/konto/anmelden/")
    form = page.locator("form:has(input[name='password'])")
    form.locator("input[name='username']").fill(username)
    form.locator("input[name='password']").fill(password)
    with page.expect_navigation():
        form.locator("button[type='submit'], input[type='submit']").first.click()
