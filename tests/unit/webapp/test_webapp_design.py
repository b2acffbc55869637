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
