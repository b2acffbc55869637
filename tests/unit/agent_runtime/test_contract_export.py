"""The browser's copy of the contract is generated from ``contract.py`` and must never drift."""

from __future__ import annotations

import json
import subprocess
import sys
from enum import StrEnum
from pathlib import Path

import pytest

from agent_runtime import contract
from agent_runtime.contract_export import ENUMS, GENERATED_DIR, contract_document, main, render

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("name", ["contract.json", "contract.js"])
def test_the_committed_module_is_what_contract_py_generates(name: str) -> None:
    committed = (ROOT / GENERATED_DIR / name).read_text(encoding="utf-8")
    assert committed == render()[name], (
        f"{GENERATED_DIR / name} is stale: run `python -m agent_runtime.contract_export` and commit it"
    )


def test_every_enumeration_of_the_contract_is_exported() -> None:
    exported = {
        name
        for name, value in vars(contract).items()
        if isinstance(value, type) and issubclass(value, StrEnum) and value is not StrEnum
    }
    assert exported == set(ENUMS)
    doc = contract_document()
    for name, enum in ENUMS.items():
        assert doc["enums"][name] == {m.name: m.value for m in enum}


def test_every_tool_and_payload_has_its_schema() -> None:
    doc = contract_document()
    assert list(doc["schemas"]["tools"]) == [t.value for t in contract.ToolName]
    assert list(doc["schemas"]["payloads"]) == [a.value for a in contract.Action]
    outline = doc["schemas"]["tools"]["set_playbook_outline"]
    assert outline["properties"]["modules"]["maxItems"] == contract.Limits.MAX_MODULES
    assert doc["limits"]["MAX_PROMPT_BYTES"] == contract.Limits.MAX_PROMPT_BYTES


def test_check_fails_on_a_stale_file_and_passes_once_regenerated(tmp_path: Path) -> None:
    out = tmp_path / GENERATED_DIR
    out.mkdir(parents=True)
    stale = render()["contract.js"].replace('"set_playbook_outline"', '"set_outline"')
    (out / "contract.js").write_text(stale, encoding="utf-8")
    assert main(["--check", "--root", str(tmp_path)]) == 1
    assert main(["--root", str(tmp_path)]) == 0
    assert main(["--check", "--root", str(tmp_path)]) == 0
    assert json.loads((out / "contract.json").read_text(encoding="utf-8")) == contract_document()


def test_the_command_line_check_passes_on_the_repository() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "agent_runtime.contract_export", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
