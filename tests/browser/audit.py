"""What every tour page must pass in Chromium: axe-core's audit, no sideways scrolling, a clean console.

axe-core comes from the npm registry (pinned in package.json, installed by `make setup`). It is
evaluated through the DevTools protocol, which the page's strict CSP does not see, so the page keeps
the very policy it is served with.
"""
from __future__ import annotations

import re
from pathlib import Path

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
BLOCKING = {"serious", "critical"}


def axe_violations(page) -> list[dict]:
    """axe-core's violations of impact serious or critical on the page as it is now."""
    if not AXE.exists():
        raise AssertionError(f"{AXE} is missing: `make setup` installs axe-core from package.json (npm ci).")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ["violations"]});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 5).map(n => n.target.join(" "))}));
    }""")
    return [v for v in result if v["impact"] in BLOCKING]


def overflow(page) -> int:
    """How many CSS pixels the page is wider than the viewport (0 when nothing scrolls sideways)."""
    return page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")


def too_wide(page, limit: int = 3) -> list[str]:
    """The innermost elements that reach past the viewport's right edge, to say what widens a page."""
    return page.evaluate("""(limit) => {
        const width = document.documentElement.clientWidth, found = [];
        for (const el of document.body.querySelectorAll("*")) {
            const box = el.getBoundingClientRect();
            if (box.right <= width + 1 || box.width === 0) continue;
            if ([...el.children].some(c => c.getBoundingClientRect().right > width + 1)) continue;
            const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
                         (el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\\s+/).join(".") : "");
            found.push(`${name} (right edge ${Math.round(box.right)})`);
            if (found.length >= limit) break;
        }
        return found;
    }""", limit)


# Chromium logs every 4xx answer; a 422 is how a form with invalid input is answered (STYLE.md §4).
_EXPECTED = re.compile(r"Failed to load resource: the server responded with a status of 422")


def collect_console_errors(page) -> list[str]:
    """A list that fills with the console's errors (CSP refusals included) and the page's uncaught ones."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(f"{message.text} ({message.location.get('url')}:"
                                                     f"{message.location.get('lineNumber')})")
            if message.type == "error" and not _EXPECTED.search(message.text) else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors
