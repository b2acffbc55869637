"""The shared design system and the browser's copies of contract limits stay consistent."""

from __future__ import annotations

import re
from pathlib import Path

from agent_runtime.contract import Limits

ROOT = Path(__file__).resolve().parents[3]
DESIGN = ROOT / "webapp" / "static" / "css" / "design.css"
TEMPLATES = ROOT / "webapp" / "templates"


def _block(css: str, selector: str) -> dict[str, str]:
    start = css.index(selector)
    body = css[css.index("{", start + len(selector)) + 1 :]
    body = body[: body.index("}")]
    return dict(re.findall(r"(--[\w-]+):\s*([^;]+);", body))


def test_the_dark_scheme_is_the_same_from_the_system_and_from_the_toggle() -> None:
    css = DESIGN.read_text(encoding="utf-8")
    from_system = _block(css, ":root:not([data-theme='light'])")
    from_toggle = _block(css, ":root[data-theme='dark']")
    light = _block(css, ":root {")
    assert from_system == from_toggle
    # Every colour the light scheme sets, the dark one sets too (nothing stays light by mistake).
    colours = {k for k, v in light.items() if v.startswith(("#", "rgba"))}
    assert colours <= set(from_toggle), colours - set(from_toggle)


def test_the_builder_and_the_server_pages_load_the_same_design_file() -> None:
    main_js = (ROOT / "frontend" / "src" / "main.js").read_text(encoding="utf-8")
    assert "import '../../webapp/static/css/design.css'" in main_js
    base = (TEMPLATES / "base.html").read_text(encoding="utf-8")
    assert "filename='css/design.css'" in base


def test_templates_have_no_inline_scripts_handlers_or_styles() -> None:
    """Ready for a strict CSP: scripts from files only (JSON data blocks are not scripts)."""
    for path in TEMPLATES.rglob("*.html"):
        html = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, (path.name, tag)
        assert not re.search(r"\son[a-z]+=", html), path.name
        assert " style=" not in html, path.name


def test_the_composer_limit_is_the_contracts() -> None:
    limits = (ROOT / "frontend" / "src" / "lib" / "limits.js").read_text(encoding="utf-8")
    match = re.search(r"export const MAX_PROMPT_BYTES = ([\d\s*]+)\n", limits)
    assert match, "MAX_PROMPT_BYTES not found in limits.js"
    value = 1
    for factor in match.group(1).split("*"):
        value *= int(factor)
    assert value == Limits.MAX_PROMPT_BYTES


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


# (foreground, background, minimum): text 4.5:1, control boundaries and the focus ring 3:1 (WCAG AA).
PAIRS = [
    ("--text", "--bg", 4.5),
    ("--text", "--surface", 4.5),
    ("--text-2", "--neutral-soft", 4.5),
    ("--muted", "--bg", 4.5),
    ("--muted", "--surface", 4.5),
    ("--muted", "--surface-2", 4.5),
    ("--placeholder", "--surface", 4.5),
    ("--primary", "--surface", 4.5),
    ("--primary", "--bg", 4.5),
    ("--primary", "--primary-soft", 4.5),
    ("--on-primary", "--primary-bg", 4.5),
    ("--on-primary", "--primary-hover", 4.5),
    ("--success", "--success-soft", 4.5),
    ("--warning", "--warning-soft", 4.5),
    ("--danger", "--danger-soft", 4.5),
    ("--danger", "--surface", 4.5),
    ("--danger-strong", "--danger-soft", 4.5),
    ("--surface", "--danger", 4.5),
    ("--focus", "--surface", 3.0),
    ("--focus", "--bg", 3.0),
    ("--border-strong", "--surface", 3.0),
]


def test_every_token_pair_meets_wcag_aa_in_both_schemes() -> None:
    css = DESIGN.read_text(encoding="utf-8")
    light = _block(css, ":root {")
    for name, scheme in (("light", light), ("dark", _block(css, ":root[data-theme='dark']"))):
        tokens = {**light, **scheme}
        low = [
            f"{name}: {fg} on {bg} is {_contrast(tokens[fg], tokens[bg]):.2f}:1 (needs {need})"
            for fg, bg, need in PAIRS
            if _contrast(tokens[fg], tokens[bg]) < need
        ]
        assert low == []
