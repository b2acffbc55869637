"""``python -m agent_runtime.library``: serve one vendor's library over stdio.

Environment (set by the runtime; the child inherits nothing else):

| variable | meaning |
|---|---|
| ``PLAYBOOK_LIBRARY_VENDOR_ID`` | the vendor, from the session's verified token (required) |
| ``DATABASE_URL`` | the web app's database (default ``sqlite:///var/playbook.db``) |
| ``POLICIES_DIR`` | folder of per-vendor policy folders (default ``var/policies``) |
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from agent_runtime.library.policies import PolicyFolder
from agent_runtime.library.server import build_server
from agent_runtime.library.store import PlaybookStore

VENDOR_VARIABLE = "PLAYBOOK_LIBRARY_VENDOR_ID"


def main() -> int:
    """Serve until stdin closes; exit status 2 without a vendor."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="library %(levelname)s %(message)s")
    raw = os.environ.get("PLAYBOOK_LIBRARY_VENDOR_ID", "").strip()
    if not raw.isdigit():
        print(f"{VENDOR_VARIABLE} must be the vendor id (set by the runtime)", file=sys.stderr)
        return 2
    vendor_id = int(raw)
    url = os.environ.get("DATABASE_URL") or "sqlite:///var/playbook.db"
    folder = Path(os.environ.get("POLICIES_DIR") or "var/policies")
    server = build_server(PlaybookStore.from_url(url, vendor_id), PolicyFolder(folder, vendor_id))
    server.run("stdio")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
