"""The web app loads only the runtime's contract (DESIGN §2), whatever the transport."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_a_running_webapp_loads_no_runtime_module_but_the_contract(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from webapp import create_app\n"
        f"app = create_app({{'APP_ENV': 'testing', 'DATABASE_URL': 'sqlite:///{tmp_path}/x.db'}})\n"
        "import webapp.transports.agentcore, webapp.transports.http\n"
        "runtime = sorted(m for m in sys.modules if m.startswith('agent_runtime') and m not in "
        "('agent_runtime', 'agent_runtime.contract'))\n"
        "heavy = sorted(m for m in ('ag_ui', 'strands', 'bedrock_agentcore', 'uvicorn', 'starlette')"
        " if m in sys.modules)\n"
        "print(runtime, heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] []"
