"""How long reading an attachment takes (issue 12): the web app's full check at upload
(:func:`attachments.inspect`, which reads the whole file) and the runtime's extraction, for a 50-page
PDF and a 5 MB DOCX made the way people make them (fpdf2, python-docx), plus the SOP in each format.

Writes ``bench/results/attachments.json``: per document, size, pages/paragraphs, p50/max seconds
over a few runs, and the outline found.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import time
import zipfile
from pathlib import Path
from typing import Any

from attachments import extract, inspect, sniff
from tests.support import documents as docs

RESULTS = Path(__file__).resolve().parent / "results" / "attachments.json"
RUNS = int(os.environ.get("ATTACH_BENCH_RUNS", "5"))
MB = 1024 * 1024


def pdf_50_pages() -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title("Incident Response Runbook")
    for page in range(50):
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 16)
        pdf.cell(0, 10, f"Phase {page + 1}: Containment and recovery", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 10)
        for n in range(1, 31):
            pdf.cell(
                0,
                7,
                f"{n}. Check system {n} and record the owner, status and next action",
                new_x="LMARGIN",
                new_y="NEXT",
            )
    return bytes(pdf.output())


def docx_5mb() -> bytes:
    """A long Word SOP (headings, numbered lists, a table per section) padded with a picture-sized
    media part, as real SOPs with screenshots are — 5 MB on disk."""
    import docx

    document = docx.Document()
    document.add_heading("Warehouse Operations SOP", level=0)
    for section in range(120):
        document.add_heading(f"Section {section + 1}: Receiving dock {section % 7}", level=1)
        for n in range(25):
            document.add_paragraph(
                f"Inspect pallet {n} for damage and log it in the WMS before put-away", style="List Number"
            )
        table = document.add_table(rows=4, cols=3)
        for r, row in enumerate(table.rows):
            for c, cell in enumerate(row.cells):
                cell.text = f"r{r}c{c}"
    out = io.BytesIO()
    document.save(out)
    data = out.getvalue()
    padded = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(padded, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            dst.writestr(item, src.read(item.filename))
        dst.writestr("word/media/screenshot.png", os.urandom(max(0, 5 * MB - len(data))), zipfile.ZIP_STORED)
    return padded.getvalue()


def timed(data: bytes, name: str) -> dict[str, Any]:
    media = sniff(data, name)
    checks, reads = [], []
    document = None
    for _ in range(RUNS):
        started = time.perf_counter()
        inspect(data, name, max_bytes=10 * MB)
        checks.append(time.perf_counter() - started)
        started = time.perf_counter()
        document = extract(data, media, name=name)
        reads.append(time.perf_counter() - started)
    assert document is not None
    return {
        "name": name,
        "media_type": str(media),
        "bytes": len(data),
        "upload_check_seconds": {"p50": round(statistics.median(checks), 3), "max": round(max(checks), 3)},
        "extract_seconds": {"p50": round(statistics.median(reads), 3), "max": round(max(reads), 3)},
        "modules_found": len(document.outline()),
        "markdown_chars_shown": len(document.markdown),
        "truncated_for_prompt": document.truncated,
    }


def main() -> int:
    """Measure and write the results."""
    cases = [
        ("runbook-50-pages.pdf", pdf_50_pages()),
        ("warehouse-sop-5mb.docx", docx_5mb()),
        ("sop.docx", docs.docx_bytes("Client Onboarding SOP")),
        ("sop.pdf", docs.pdf_bytes("Client Onboarding SOP")),
        ("steps.xlsx", docs.xlsx_bytes("Steps")),
        ("steps.csv", docs.csv_text().encode()),
        ("sop.md", docs.markdown_text("SOP").encode()),
        ("sop.html", docs.html_text("SOP").encode()),
    ]
    results = [timed(data, name) for name, data in cases]
    for r in results:
        print(
            f"{r['name']:<26} {r['bytes'] / MB:6.2f} MB  check p50 {r['upload_check_seconds']['p50']:.3f}s  "
            f"extract p50 {r['extract_seconds']['p50']:.3f}s  modules {r['modules_found']}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps({"runs": RUNS, "cpu_count": os.cpu_count(), "documents": results}, indent=2) + "\n"
    )
    return 0
