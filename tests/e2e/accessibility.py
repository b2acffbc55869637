"""axe-core in the browser, and screenshots of each page state at both sizes and in both schemes.

``audit(page, state)`` looks at the page as it is now at 1440×900 and 390×844, light and dark
(Playwright's viewport and ``prefers-color-scheme`` emulation, so a state is reached once and seen
four ways), saves a screenshot of each under ``test-results/screenshots/`` and runs axe-core
(npm ``axe-core``, from ``frontend/node_modules``) with the WCAG 2.0/2.1/2.2 A and AA rules. It
returns every serious or critical violation in words; the tests assert the list is empty.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-results" / "screenshots"
REPORTS = ROOT / "test-results" / "axe"
LAPTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
VARIANTS = (
    ("desktop", LAPTOP, "light"),
    ("desktop", LAPTOP, "dark"),
    ("phone", PHONE, "light"),
    ("phone", PHONE, "dark"),
)
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
FAILING_IMPACTS = {"serious", "critical"}

_RUN = """async (tags) => {
  // A message that appeared a moment ago is still fading in (a 0.2 s rise): judge its colours as
  // they end, not mid-fade. Endless animations (a typing cursor, a spinner) are left alone.
  for (const a of document.getAnimations()) {
    if (a.effect && a.effect.getComputedTiming().endTime !== Infinity) a.finish();
  }
  const results = await window.axe.run(document, {
    runOnly: { type: 'tag', values: tags },
    resultTypes: ['violations'],
  });
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => ({ target: n.target.join(' '), summary: n.failureSummary })),
  }));
}"""

_SETTLE = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"


def _ensure_axe(page: Any) -> None:
    # page.evaluate runs outside the page's CSP, so no inline <script> is added to the page.
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))


def audit(
    page: Any, state: str, variants: tuple[tuple[str, dict[str, int], str], ...] = VARIANTS
) -> list[str]:
    """Screenshots and axe-core for the page as it is now; returns serious/critical violations."""
    if not AXE.is_file():
        raise AssertionError(f"{AXE} is missing: run `make frontend` (npm ci) first")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    REPORTS.mkdir(parents=True, exist_ok=True)
    before = page.viewport_size
    found: list[str] = []
    for size, viewport, scheme in variants:
        page.set_viewport_size(viewport)
        page.emulate_media(color_scheme=scheme)
        page.evaluate(_SETTLE)
        name = f"{state}-{size}-{scheme}"
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), animations="disabled")
        _ensure_axe(page)
        violations = page.evaluate(_RUN, TAGS)
        (REPORTS / f"{name}.json").write_text(json.dumps(violations, indent=2), encoding="utf-8")
        for v in violations:
            if v["impact"] in FAILING_IMPACTS:
                targets = "; ".join(f"{n['target']}" for n in v["nodes"][:4])
                found.append(
                    f"{name}: {v['id']} ({v['impact']}, {len(v['nodes'])} nodes) {v['help']} — {targets}"
                )
    page.set_viewport_size(before or LAPTOP)
    page.emulate_media(color_scheme="light")
    return found
