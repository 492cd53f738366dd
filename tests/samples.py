"""Small real documents of every supported kind, written by the tests themselves: a PDF
(hand-made, text layer, several pages with a running header and footer), an HTML page with
navigation and scripts, and a Word file (python-docx)."""

from __future__ import annotations

from pathlib import Path

from sco_qa.config import load_settings
from sco_qa.index import IndexSpec


def _pdf_text(lines: list[str]) -> bytes:
    ops = ["BT", "/F1 11 Tf", "14 TL", "72 760 Td"]
    for line in lines:
        safe = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops.append(f"({safe}) Tj T*")
    ops.append("ET")
    return "\n".join(ops).encode("latin-1")


def write_pdf(path: Path, pages: list[list[str]]) -> Path:
    """A PDF whose pages hold ``pages`` (lines of text, Helvetica), made without a library."""
    objects: list[bytes] = []
    n_pages = len(pages)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(n_pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n_pages} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, lines in enumerate(pages):
        content = _pdf_text(lines)
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(bytes(out))
    return path


def write_docx(path: Path, title: str, blocks: list[tuple[str, str]]) -> Path:
    """A Word file: ``blocks`` of ("heading" | "paragraph", text)."""
    import docx

    document = docx.Document()
    document.core_properties.title = title
    for kind, text in blocks:
        if kind == "heading":
            document.add_heading(text, level=1)
        else:
            document.add_paragraph(text)
    document.save(str(path))
    return path


GIFT_CARD_PAGES = [
    [
        "Acme Staff Handbook",
        "",
        "Gift cards",
        "",
        "Gift cards can be redeemed in any of our shops and online. They are valid",
        "for three years from the date of pur-",
        "chase and cannot be exchanged for cash.",
        "",
        "Page 1",
    ],
    [
        "Acme Staff Handbook",
        "",
        "Lost cards",
        "",
        "A lost gift card can be blocked by calling the service desk, which replaces",
        "the remaining balance on a new card within five working days.",
        "",
        "Page 2",
    ],
]

PARKING_HTML = """<!doctype html>
<html><head><title>Parking at the Riverside office</title>
<style>body { color: red }</style><script>var tracking = "nav junk";</script></head>
<body><nav><a href="/">Home</a> <a href="/jobs">Jobs</a> Menu Sign in</nav>
<main><h1>Parking at the Riverside office</h1>
<p>Staff may park in the north garage from 7 am; visitors use the marked bays by the gate.</p>
<h2>Electric cars</h2>
<p>Six charging points stand on level two of the north garage and are free for staff.</p>
</main><footer>© Acme. Cookie settings. Privacy.</footer></body></html>
"""

HOLIDAY_BLOCKS = [
    ("heading", "Paid holiday"),
    ("paragraph", "Every employee gets 28 days of paid holiday a year, public holidays included."),
    ("heading", "Carrying days over"),
    ("paragraph", "Up to five unused days may be carried over into the first quarter."),
]


def write_mixed(folder: Path) -> Path:
    """A folder as users have them: a PDF, an HTML page and a Word file in two subfolders,
    and a Markdown note at the top."""
    (folder / "handbook").mkdir(parents=True, exist_ok=True)
    (folder / "office" / "html-only").mkdir(parents=True, exist_ok=True)
    write_pdf(folder / "handbook" / "giftcards.pdf", GIFT_CARD_PAGES)
    (folder / "office" / "html-only" / "parking.html").write_text(PARKING_HTML, "utf-8")
    write_docx(folder / "office" / "holidays.docx", "Holidays", HOLIDAY_BLOCKS)
    (folder / "notes.md").write_text(
        "# Kitchen\n\nThe kettle holds 1.7 litres and switches itself off.\n", "utf-8"
    )
    return folder


def spec_for(corpus: Path, index: Path, **overrides: object) -> IndexSpec:
    """The index spec of a corpus and index folder, other settings at their defaults."""
    settings = load_settings(corpus_dir=corpus, index_dir=index, **overrides)
    return IndexSpec.from_settings(settings)
