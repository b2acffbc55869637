"""Apply the Alembic migrations programmatically (``make run``, tests, the bench)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from .config import normalize_db_url

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(url: str) -> Config:
    """An Alembic config for ``url`` that uses the repository's ``migrations/`` folder."""
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", normalize_db_url(url).replace("%", "%%"))
    cfg.attributes["configure_logging"] = False
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Run ``alembic upgrade`` against ``url``; creates the SQLite file's folder if needed."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    """Run ``alembic downgrade``."""
    command.downgrade(alembic_config(url), revision)
