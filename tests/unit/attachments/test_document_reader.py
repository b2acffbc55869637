"""The shared document reader (package ``attachments``): type by content, refusals, structure."""

from __future__ import annotations

import hashlib

import boto3
import pytest
from moto import mock_aws

from attachments import DocumentError, MediaType, extract, inspect, sniff
from attachments.store import BlobMissing, LocalBlobStore, S3BlobStore, open_store
from tests.support import documents as docs

HEADINGS = [h for h, _ in docs.SOP]
MB = 1024 * 1024


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("a.pdf", docs.pdf_bytes("T"), MediaType.PDF),
        ("a.docx", docs.docx_bytes("T"), MediaType.DOCX),
        ("a.xlsx", docs.xlsx_bytes("T"), MediaType.XLSX),
        ("a.csv", b"a,b\n1,2\n", MediaType.CSV),
        ("a.md", b"# T\n", MediaType.MARKDOWN),
        ("a.txt", b"hello\n", MediaType.TEXT),
        ("a.html", b"<!doctype html><p>x</p>", MediaType.HTML),
        ("no-extension", b"<html><body>x</body></html>", MediaType.HTML),
        ("no-extension", b"# Heading\n- item\n", MediaType.MARKDOWN),
        ("renamed.bin", docs.pdf_bytes("T"), MediaType.PDF),
    ],
)
def test_the_type_comes_from_the_content(name: str, data: bytes, expected: MediaType) -> None:
    assert sniff(data, name) == expected


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("report.pdf", b"# Markdown pretending\n", "UNSUPPORTED_FILE_TYPE"),
        ("sheet.xlsx", docs.docx_bytes("T"), "UNSUPPORTED_FILE_TYPE"),
        ("x.txt", b"\x00\x01\x02binary", "UNSUPPORTED_FILE_TYPE"),
        ("x.txt", b"\xff\xfe\xfa not utf-8 " * 10, "UNSUPPORTED_FILE_TYPE"),
        ("zip.docx", docs.zip_bomb_docx(), "FILE_UNREADABLE"),
        ("zip.xlsx", docs.many_parts_xlsx(), "FILE_UNREADABLE"),
        ("x.md", b"  \n\t ", "FILE_EMPTY"),
    ],
)
def test_refusals_name_the_file(name: str, data: bytes, code: str) -> None:
    with pytest.raises(DocumentError) as caught:
        inspect(data, name, max_bytes=10 * MB)
    assert caught.value.code == code and name in caught.value.message


def test_the_declared_zip_size_is_checked_before_anything_unpacks() -> None:
    bomb = docs.zip_bomb_docx(unpacked_mb=300)
    assert len(bomb) < 2 * MB  # tiny on the wire
    with pytest.raises(DocumentError, match="unpack far too large"):
        sniff(bomb, "bomb.docx")


@pytest.mark.parametrize(
    "name, data",
    [
        ("sop.docx", docs.docx_bytes("Client Onboarding SOP")),
        ("sop.pdf", docs.pdf_bytes("Client Onboarding SOP")),
        ("sop.md", docs.markdown_text("Client Onboarding SOP").encode()),
        ("sop.html", docs.html_text("Client Onboarding SOP").encode()),
        ("Client Onboarding SOP.xlsx", docs.xlsx_bytes("Client Onboarding SOP")),
        ("client-onboarding-sop.csv", docs.csv_text().encode()),
    ],
)
def test_every_format_gives_the_same_outline(name: str, data: bytes) -> None:
    document = extract(data, sniff(data, name), name=name)
    assert document.title.lower().replace("-", " ").startswith("client onboarding sop")
    outline = document.outline()
    assert [m.title for m in outline] == HEADINGS
    assert [(t.title, t.steps) for t in outline[0].tasks] == [
        ("Schedule the call", ["Send the invite", "Share the agenda"]),
        ("Introduce the team", ["Name the account lead"]),
    ]
    assert "## Welcome Call" in document.markdown or "# Welcome Call" in document.markdown


def test_plain_text_headings_and_numbered_lists_are_understood() -> None:
    text = (
        b"KICKOFF\n1. Book the room\n   - Send the invite\n2. Prepare slides\n\nFollow-up:\n1. Send notes\n"
    )
    outline = extract(text, MediaType.TEXT, name="notes.txt").outline()
    assert [m.title for m in outline] == ["KICKOFF", "Follow-up"]
    assert [(t.title, t.steps) for t in outline[0].tasks] == [
        ("Book the room", ["Send the invite"]),
        ("Prepare slides", []),
    ]


def test_a_document_without_structure_offers_its_frequent_phrases() -> None:
    prose = (
        "Vendor review covers security questionnaires. " * 3 + "Risk register updates follow. " * 2
    ).encode()
    document = extract(prose, MediaType.TEXT, name="prose.txt")
    assert document.outline() == []
    assert document.frequent_phrases()[:2] == ["Vendor Review", "Security Questionnaires"]


def test_long_documents_are_capped_for_the_prompt_but_outlined_whole() -> None:
    body = "\n".join(
        f"## Section {i}\n\n"
        + "\n".join(
            f"{j}. Step {i}.{j}: check the record and write down what was found" for j in range(1, 30)
        )
        for i in range(60)
    )
    document = extract(body.encode(), MediaType.MARKDOWN, name="long.md")
    assert document.truncated and len(document.markdown) < 41_000
    assert len(document.outline()) == 20  # the module limit


def test_local_store_keeps_each_content_once_per_vendor_and_checks_its_hash(tmp_path) -> None:
    store = LocalBlobStore(tmp_path)
    digest = store.put(1, b"hello")
    assert digest == hashlib.sha256(b"hello").hexdigest() and store.put(1, b"hello") == digest
    assert store.get(1, digest) == b"hello"
    with pytest.raises(BlobMissing):
        store.get(2, digest)  # another vendor's key
    with pytest.raises(BlobMissing):
        store.get(1, "../../etc/passwd")
    (tmp_path / "1" / digest).write_bytes(b"tampered")
    with pytest.raises(BlobMissing, match="does not match"):
        store.get(1, digest)


def test_s3_store_with_moto() -> None:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="pb-attachments")
        store = open_store("s3://pb-attachments/files", client=client)
        assert isinstance(store, S3BlobStore)
        digest = store.put(7, b"%PDF-1.7 data")
        assert store.get(7, digest) == b"%PDF-1.7 data"
        keys = [o["Key"] for o in client.list_objects_v2(Bucket="pb-attachments")["Contents"]]
        assert keys == [f"files/7/{digest}"]
        with pytest.raises(BlobMissing):
            store.get(8, digest)
