"""A real web-app database and policy folders for the playbook library's tests.

The schema comes from the web app's own Alembic migrations and playbooks are stored by the web
app's own save service, so the library reads exactly what the product writes (tests may import
``webapp``; the runtime never does).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from agent_runtime.contract import PlaybookSpec
from webapp.accounts import create_user
from webapp.migrate import upgrade
from webapp.playbooks.service import save_playbook

__all__ = ["LibraryWorld", "make_library_world", "ONBOARDING_MODULES"]

ONBOARDING_MODULES = [
    ("Vendor Onboarding Kickoff", "Meet the vendor and agree the onboarding plan."),
    ("Due Diligence Review", "Check the vendor's security, finances and references."),
    ("Contract and Access Setup", "Sign the contract and grant the vendor the access it needs."),
    ("First Onboarding Check-in", "Review the first 30 days with the vendor."),
]
SECURITY_POLICY = """# Security Policy

Every vendor and client engagement follows these rules.

## Access control
Grant the least access needed and review it every quarter.

## Data handling
Store customer data only in approved systems.
"""


@dataclass(frozen=True)
class LibraryWorld:
    """Two vendors: ``acme`` saved a vendor onboarding playbook and has a security policy."""

    database_url: str
    policies_dir: Path
    acme_vendor: int
    acme_user: int
    acme_playbook: int
    globex_vendor: int
    globex_user: int


def _spec() -> PlaybookSpec:
    return PlaybookSpec.model_validate(
        {
            "title": "Vendor Onboarding Playbook",
            "description": "How Acme brings a new vendor on board.",
            "modules": [
                {
                    "title": title,
                    "description": description,
                    "status": "built",
                    "tasks": [
                        {
                            "title": f"Acme-only task of {title}",
                            "description": "Internal detail",
                            "steps": [{"title": "Do the Acme-only step", "description": ""}],
                        }
                    ],
                }
                for title, description in ONBOARDING_MODULES
            ],
        }
    )


def make_library_world(folder: Path) -> LibraryWorld:
    """Create the database (migrations), the two vendors, Acme's playbook and Acme's policy folder."""
    url = f"sqlite:///{folder / 'playbook.db'}"
    upgrade(url)
    engine = create_engine(url)
    with Session(engine) as session:
        acme = create_user(
            session,
            email="ann@acme.test",
            password="pw-acme-123",
            vendor="Acme",
            hash_method="pbkdf2:sha256:1000",
        )
        globex = create_user(
            session,
            email="gus@globex.test",
            password="pw-globex-123",
            vendor="Globex",
            hash_method="pbkdf2:sha256:1000",
        )
        session.commit()
        ids = (acme.vendor_id, acme.id, globex.vendor_id, globex.id)
    saved = save_playbook(
        engine, spec=_spec(), vendor_id=ids[0], user_id=ids[1], idempotency_key="acme-onboarding"
    )
    engine.dispose()
    policies = folder / "policies"
    (policies / str(ids[0])).mkdir(parents=True)
    (policies / str(ids[0]) / "security-policy.md").write_text(SECURITY_POLICY, encoding="utf-8")
    return LibraryWorld(url, policies, ids[0], ids[1], saved.playbook_id, ids[2], ids[3])
