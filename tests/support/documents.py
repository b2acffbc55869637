"""Documents made the way people make them (python-docx, fpdf2, openpyxl), with headings and lists
a test chooses, so a test can check that the outline follows the document's own structure."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence

Structure = Sequence[tuple[str, Sequence[tuple[str, Sequence[str]]]]]
"""[(module heading, [(task, [steps])])]"""

SOP: Structure = (
    (
        "Welcome Call",
        (
            ("Schedule the call", ("Send the invite", "Share the agenda")),
            ("Introduce the team", ("Name the account lead",)),
        ),
    ),
    (
        "Paperwork",
        (
            ("Collect the signed contract", ("Request the countersigned copy",)),
            ("Verify tax forms", ("Check the W-9",)),
        ),
    ),
    (
        "Account Setup",
        (
            ("Create the workspace", ("Invite the client admins",)),
            ("Configure billing", ("Set the invoice day",)),
        ),
    ),
    ("First Month Review", (("Hold the 30-day review", ("Compare goals with progress",)),)),
)


def docx_bytes(title: str, structure: Structure = SOP) -> bytes:
    import docx

    document = docx.Document()
    document.add_heading(title, level=0)
    document.add_paragraph("This is how we onboard every new client.")
    for heading, tasks in structure:
        document.add_heading(heading, level=1)
        for task, steps in tasks:
            document.add_paragraph(task, style="List Number")
            for step in steps:
                document.add_paragraph(step, style="List Number 2")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def pdf_bytes(
    title: str, structure: Structure = SOP, *, pages: int = 1, password: str | None = None
) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_title(title)
    for page in range(pages):
        pdf.add_page()
        if page == 0:
            pdf.set_font("Helvetica", "B", 22)
            pdf.cell(0, 12, title, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 11)
        pdf.multi_cell(
            0, 6, "This is how we onboard every new client." if page == 0 else f"Appendix page {page}. " * 30
        )
        if page:
            continue
        for heading, tasks in structure:
            pdf.set_font("Helvetica", "B", 16)
            pdf.cell(0, 10, heading, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Helvetica", "", 11)
            for number, (task, steps) in enumerate(tasks, start=1):
                pdf.cell(0, 6, f"{number}. {task}", new_x="LMARGIN", new_y="NEXT")
                for step in steps:
                    pdf.cell(0, 6, f"    - {step}", new_x="LMARGIN", new_y="NEXT")
    data = bytes(pdf.output())
    if password:
        from pypdf import PdfReader, PdfWriter

        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
        writer.encrypt(user_password=password, owner_password="owner", algorithm="RC4-128")
        out = io.BytesIO()
        writer.write(out)
        data = out.getvalue()
    return data


def markdown_text(title: str, structure: Structure = SOP) -> str:
    lines = [f"# {title}", "", "This is how we onboard every new client.", ""]
    for heading, tasks in structure:
        lines += [f"## {heading}", ""]
        for number, (task, steps) in enumerate(tasks, start=1):
            lines.append(f"{number}. {task}")
            lines += [f"   - {s}" for s in steps]
        lines.append("")
    return "\n".join(lines)


def html_text(title: str, structure: Structure = SOP) -> str:
    body = "".join(
        f"<h2>{h}</h2><ol>"
        + "".join(f"<li>{t}<ul>{''.join(f'<li>{s}</li>' for s in steps)}</ul></li>" for t, steps in tasks)
        + "</ol>"
        for h, tasks in structure
    )
    head = f"<!doctype html><html><head><title>{title}</title></head>"
    return f"{head}<body><h1>{title}</h1><p>Intro.</p>{body}</body></html>"


def csv_text(structure: Structure = SOP) -> str:
    rows = ["Phase,Task,Step"]
    rows += [f"{h},{t},{s}" for h, tasks in structure for t, steps in tasks for s in steps]
    return "\n".join(rows) + "\n"


def xlsx_bytes(title: str, structure: Structure = SOP) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Steps"
    book.properties.title = title
    sheet.append(["Phase", "Task", "Step"])
    for h, tasks in structure:
        for t, steps in tasks:
            for s in steps:
                sheet.append([h, t, s])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def zip_bomb_docx(unpacked_mb: int = 120) -> bytes:
    """A DOCX-shaped archive whose one part unpacks to ``unpacked_mb`` MB of zeros."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as part:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(unpacked_mb):
                part.write(chunk)
    return out.getvalue()


def many_parts_xlsx(parts: int = 2_500) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        for i in range(parts):
            archive.writestr(f"xl/x{i}.xml", "")
    return out.getvalue()
