"""The runtime's view of a turn's attachments (agent_runtime/documents.py)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from agent_runtime.contract import AttachmentRef
from agent_runtime.documents import (
    bedrock_blocks,
    context_attachments,
    load_documents,
    prompt_section,
    remember,
    source_for_module,
)
from agent_runtime.errors import RunFault
from attachments.store import LocalBlobStore
from tests.support import documents as docs

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def ref(name: str, data: bytes, media_type: str, *, inline: bool = True) -> AttachmentRef:
    return AttachmentRef(
        file_id=f"f_{name}",
        name=name,
        media_type=media_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=base64.b64encode(data).decode() if inline else None,
    )


def test_a_turns_documents_reach_the_prompt_the_context_and_the_builders(tmp_path) -> None:
    data = docs.docx_bytes("Client Onboarding SOP")
    [document] = load_documents(
        [ref("SOP (v2).docx", data, DOCX)], vendor_id=3, store=LocalBlobStore(tmp_path)
    )
    kept = remember([], [document])
    section = prompt_section(kept, [document])
    assert '<document name="SOP (v2).docx"' in section and "## Welcome Call" in section
    assert "(attached with this message)" in section
    [ctx] = context_attachments([document])
    assert (
        ctx["title"] == "Client Onboarding SOP" and [m["title"] for m in ctx["outline"]][0] == "Welcome Call"
    )
    source = source_for_module(kept, "Paperwork")
    assert source is not None and source["document"] == "SOP (v2).docx"
    assert [t["title"] for t in source["tasks"]] == ["Collect the signed contract", "Verify tax forms"]
    assert source["markdown"].startswith("## Paperwork") and "Welcome Call" not in source["markdown"]
    assert source_for_module(kept, "Something else entirely") is None


def test_bedrock_gets_document_blocks_with_names_it_accepts() -> None:
    pdf = docs.pdf_bytes("SOP")
    [document] = load_documents(
        [ref("Q3 runbook_final!!.pdf", pdf, "application/pdf")], vendor_id=1, store=None
    )
    [block] = bedrock_blocks([document])
    assert block == {"document": {"format": "pdf", "name": "Q3 runbook final", "source": {"bytes": pdf}}}


def test_a_reference_is_read_from_the_tokens_vendor_only_and_checked_against_its_hash(tmp_path) -> None:
    store = LocalBlobStore(tmp_path)
    data = docs.markdown_text("SOP").encode()
    store.put(1, data)
    [document] = load_documents(
        [ref("sop.md", data, "text/markdown", inline=False)], vendor_id=1, store=store
    )
    assert document.record["outline"]
    with pytest.raises(RunFault) as caught:
        load_documents([ref("sop.md", data, "text/markdown", inline=False)], vendor_id=2, store=store)
    assert caught.value.code == "FILE_NOT_FOUND"
    forged = ref("sop.md", data, "text/markdown").model_copy(
        update={"data": base64.b64encode(b"other").decode()}
    )
    with pytest.raises(RunFault, match="does not match"):
        load_documents([forged], vendor_id=1, store=store)


def test_a_session_remembers_its_latest_documents_once_each() -> None:
    def fake(i: int) -> object:
        return type("D", (), {"record": {"file_id": f"f{i}", "name": f"{i}.md"}})()

    kept = remember([], [fake(i) for i in range(8)])  # type: ignore[list-item]
    kept = remember(kept, [fake(3), fake(9), fake(10), fake(11)])  # type: ignore[list-item]
    assert [k["file_id"] for k in kept] == ["f1", "f2", "f4", "f5", "f6", "f7", "f3", "f9", "f10", "f11"]
