"""Browser tests: Debian's Chromium, driven by Playwright, against the real stack.

The stack is the real agent runtime (``python -m agent_runtime``, offline model), the real web app
(``python -m webapp``: gunicorn + gevent) and a real database — Postgres when ``TEST_DATABASE_URL``
is set (``make test`` starts one; CI must have it), otherwise a migrated SQLite file for a local run.
Both processes listen on free loopback ports. Every test gets a fresh user (its own vendor) and a
fresh browser context, and leaves a screenshot under ``test-results/e2e/``.

Playwright never downloads a browser here: it launches ``/usr/bin/chromium`` (installed by
``scripts/system-deps.sh``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.runtime_process import RUNTIME_SECRET, RuntimeProcess, start_runtime
from tests.support.webapp_harness import WebappProcess, add_user, app_for_url, fresh_postgres_database

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "test-results" / "e2e"
FRONTEND = ROOT / "frontend"
BUILD_INDEX = ROOT / "webapp" / "static" / "builder" / "index.html"
CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Slow enough that a build is observable (stop and reload land mid-build), fast enough for CI.
MODEL_LATENCY_MS = os.environ.get("E2E_MODEL_LATENCY_MS", "120")
LAPTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}

ONBOARDING = "Onboard new clients with a kickoff call, document collection and a 30-day review"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder is an ``e2e`` test."""
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    """Remember each phase's report on the item, so fixtures can tell a failed test."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


# -------------------------------------------------------------------------------------------------
# the stack
# -------------------------------------------------------------------------------------------------


def _newest_source_mtime() -> float:
    paths = [FRONTEND / "index.html", FRONTEND / "vite.config.js", FRONTEND / "package-lock.json"]
    paths += [p for p in (FRONTEND / "src").rglob("*") if p.is_file() and not p.name.endswith(".spec.js")]
    return max((p.stat().st_mtime for p in paths if p.exists()), default=0.0)


@pytest.fixture(scope="session")
def frontend_build() -> Path:
    """The built Vue app the web app serves at /builder, rebuilt when the sources are newer."""
    if BUILD_INDEX.is_file() and BUILD_INDEX.stat().st_mtime >= _newest_source_mtime():
        return BUILD_INDEX
    npm = shutil.which("npm")
    if npm is None or not (FRONTEND / "node_modules").is_dir():
        pytest.fail("the frontend is not built and cannot be: run `make frontend` (npm ci + npm run build)")
    result = subprocess.run([npm, "run", "build"], cwd=FRONTEND, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        pytest.fail(f"npm run build failed:\n{result.stdout}\n{result.stderr}")
    return BUILD_INDEX


@pytest.fixture(scope="module")
def e2e_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database: Postgres under ``make test`` / CI, SQLite otherwise."""
    from webapp.migrate import upgrade

    server = os.environ.get("TEST_DATABASE_URL")
    if server:
        url, drop = fresh_postgres_database(server)
        upgrade(url)
        yield url
        drop()
        return
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(
            "TEST_DATABASE_URL is not set: CI runs the browser tests on Postgres (make test starts one)"
        )
    url = f"sqlite:///{tmp_path_factory.mktemp('e2e-db') / 'webapp.db'}"
    upgrade(url)
    yield url


@pytest.fixture(scope="module")
def e2e_attachments(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The attachment store the web app writes and the runtime reads."""
    return str(tmp_path_factory.mktemp("e2e-attachments"))


@pytest.fixture(scope="session")
def hold_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The offline model's hold file for the browser tests' runtime (``OFFLINE_MODEL_HOLD_FILE``)."""
    return tmp_path_factory.mktemp("e2e-hold") / "hold"


@pytest.fixture()
def build_hold(hold_path: Path) -> Iterator[Path]:
    """The hold file for a test that holds a build mid-way; removed afterwards whatever happens."""
    yield hold_path
    hold_path.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def e2e_runtime(e2e_attachments: str, hold_path: Path) -> Iterator[RuntimeProcess]:
    """The real runtime, offline model, slowed a little so builds can be watched."""
    with start_runtime(
        {
            "OFFLINE_MODEL_LATENCY_MS": MODEL_LATENCY_MS,
            "ATTACHMENT_STORE": e2e_attachments,
            "OFFLINE_MODEL_HOLD_FILE": str(hold_path),
        }
    ) as process:
        yield process


@pytest.fixture(scope="module")
def e2e_webapp(
    frontend_build: Path, e2e_database_url: str, e2e_runtime: RuntimeProcess, e2e_attachments: str
) -> Iterator[tuple[WebappProcess, Any]]:
    """The real web app in front of the runtime; and an app object for seeding users."""
    seeder = app_for_url(e2e_database_url, AGENT_SIGNING_SECRET=RUNTIME_SECRET, RUNTIME_URL=e2e_runtime.url)
    env = {
        "DATABASE_URL": e2e_database_url,
        "AGENT_SIGNING_SECRET": RUNTIME_SECRET,
        "RUNTIME_URL": e2e_runtime.url,
        "AGENT_TRANSPORT": "http",
        "ATTACHMENT_STORE": e2e_attachments,
    }
    with WebappProcess(env) as process:
        yield process, seeder
    seeder.extensions["database"].dispose()
    transport = seeder.extensions.get("agent_transport")
    if transport is not None:
        transport.close()


@pytest.fixture()
def user(e2e_webapp: tuple[WebappProcess, Any]) -> dict[str, Any]:
    """A fresh user in a fresh vendor."""
    return add_user(e2e_webapp[1])


def give_desks(app: Any, user: dict[str, Any], *desks: str) -> None:
    """Make ``user`` a member of these approval desks."""
    from webapp.accounts import set_desks
    from webapp.extensions import db
    from webapp.models import User

    with app.app_context():
        session = db.new_session()
        try:
            set_desks(session, session.get(User, user["id"]), desks)
            session.commit()
        finally:
            session.close()


@pytest.fixture()
def approver(e2e_webapp: tuple[WebappProcess, Any], user: dict[str, Any]) -> dict[str, Any]:
    """A second person in ``user``'s vendor who answers for the ops-leads desk."""
    other = add_user(e2e_webapp[1], vendor=user["vendor"])
    give_desks(e2e_webapp[1], other, "ops-leads")
    return other


@pytest.fixture()
def base_url(e2e_webapp: tuple[WebappProcess, Any]) -> str:
    """The web app's address."""
    return e2e_webapp[0].url


# -------------------------------------------------------------------------------------------------
# the browser
# -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `bash scripts/system-deps.sh`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def _slug(nodeid: str) -> str:
    name = nodeid.split("::")[-1]
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")


class PageProblems:
    """Console errors and uncaught exceptions seen on a page."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def attach(self, page: Any) -> None:
        page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))
        page.on(
            "response",
            lambda res: (
                self.errors.append(f"http {res.status}: {res.request.method} {res.url}")
                if res.status >= 400
                else None
            ),
        )
        page.on(
            "console",
            lambda msg: (
                self.errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None
            ),
        )


@pytest.fixture()
def new_page(browser: Any, base_url: str, request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """Opens pages in fresh contexts; each page's final state is saved as a screenshot."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    for old in RESULTS.glob(f"{_slug(request.node.nodeid)}*.png"):
        old.unlink()
    opened: list[tuple[Any, Any, str]] = []

    def open_page(viewport: dict[str, int] | None = None, label: str = "") -> Any:
        context = browser.new_context(viewport=viewport or LAPTOP, base_url=base_url, locale="en-US")
        context.set_default_timeout(20_000)
        page = context.new_page()
        problems = PageProblems()
        problems.attach(page)
        page.problems = problems  # type: ignore[attr-defined]
        opened.append((context, page, label))
        return page

    yield open_page

    failed = getattr(request.node, "report_call", None) is not None and request.node.report_call.failed
    for context, page, label in opened:
        name = _slug(request.node.nodeid) + (f"-{label}" if label else "") + ("-FAILED" if failed else "")
        try:
            page.screenshot(path=str(RESULTS / f"{name}.png"), full_page=False, animations="disabled")
        except Exception:  # noqa: BLE001 - a screenshot must never hide the test's own result
            pass
        context.close()


@pytest.fixture()
def page(new_page: Callable[..., Any]) -> Any:
    """A laptop-sized page."""
    return new_page()


def shot(page: Any, name: str) -> None:
    """Save a screenshot of the page now (in addition to the one taken at the end)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(RESULTS / f"{name}.png"), animations="disabled")


def login(page: Any, user: dict[str, Any]) -> None:
    """Sign in through the real login form and land on the builder."""
    page.goto("/login?next=/builder")
    page.get_by_label("Email").fill(user["email"])
    page.get_by_label("Password").fill(user["password"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/builder/?$"))
    page.get_by_test_id("composer").wait_for()
    # Problems are counted from the builder page on (the login page is the web app's).
    page.problems.errors.clear()
