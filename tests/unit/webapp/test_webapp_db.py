"""Each app has its own database engine: two apps in one process never share or steal one."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from tests.support.webapp_harness import add_user, app_config
from webapp import create_app
from webapp.extensions import db
from webapp.models import User


def _users(app: Any) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(User)) or 0)


def test_two_apps_keep_their_own_engines(tmp_path: Path, sqlite_template: Path) -> None:
    urls = []
    for name in ("a.db", "b.db"):
        shutil.copyfile(sqlite_template, tmp_path / name)
        urls.append(f"sqlite:///{tmp_path / name}")
    first = create_app(app_config(urls[0]))
    second = create_app(app_config(urls[1]))  # created last: it must not take over the first's engine
    try:
        add_user(first)
        add_user(first)
        add_user(second)
        assert (_users(first), _users(second)) == (2, 1)
        with first.app_context():
            assert str(db.engine.url) == urls[0]
        with second.app_context():
            assert str(db.engine.url) == urls[1]
    finally:
        for app in (first, second):
            app.extensions["database"].dispose()
            app.extensions["agent_transport"].close()
