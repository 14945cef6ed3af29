"""Render the README's pictures of a results workbook, headless.

Run from the repository root: `python docs/make_results_picture.py`. It needs
LibreOffice (`soffice`) and poppler (`pdftoppm`) on PATH. A small partner file goes
through the real pipeline against the embedded sandbox (a first run registers two of
its numbers, so the second shows `already_registered` too); the second run's workbook
is exported to PDF by LibreOffice, as it prints, and the first page of each sheet
becomes a picture: docs/results-workbook.png (Results), results-outcome.png (its
second page across, which starts at `status`), results-summary.png,
results-errors.png and results-retry.png. The partner template's Notes page becomes
docs/template-notes.png. Small (70 dpi, cropped to the printed part): they show a page
as it prints. Look at every one before committing.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import tempfile
from pathlib import Path

from pydantic import SecretStr

from importer.api import run_import
from importer.config import Settings, build_settings
from importer.sandbox import SandboxConfig, SandboxServer
from importer.template import write_template

DOCS = Path(__file__).resolve().parent
HOOK = "https://hooks.acme.example/sms"
UNKNOWN_CARRIER = "0b7d1c3e-9f2a-4c1e-8d5b-6a4f3e2d1c0b"
HEADER = ["Phone Number", "Capabilities", "Callback URL", "Carrier SID", "Store"]
ROWS = [
    ["+1 (205) 797-3091", "3", HOOK, "", "S-100"],
    ["+12127536455", "3", HOOK, "", "S-101"],
    ["1-305-884-4729", "27", HOOK, "", "S-102"],
    ["+1 (415) 555-0173", "3", HOOK, "", "S-103"],
    ["13126169871", "7", HOOK, "", "S-104"],
    ["+1 (212) 753-6455", "3", HOOK, "", "S-105"],
    ["+1 (123) 456-7890", "3", HOOK, "", "S-106"],
    ["+14158469788", "24", HOOK, UNKNOWN_CARRIER, "S-107"],
    ["+1 (702) 841-3301", "1", "not a url", "", "S-108"],
    ["+16177764725", "3", HOOK, "", '=HYPERLINK("http://x")'],
]
ALREADY = [ROWS[3], ROWS[0]]
RESOLUTION = 70
# Per picture: the text its page starts with (the sheet's first header cell), in the
# order the sheets print: Results, Summary, Errors, Retry (Retry repeats Results' header).
PICTURES = [
    ("results-workbook.png", HEADER[0]),
    ("results-outcome.png", "status"),  # Results' second page across: our columns
    ("results-summary.png", "item"),
    ("results-errors.png", "row"),
    ("results-retry.png", HEADER[0]),
]
TEMPLATE_PICTURE = ("template-notes.png", "column")
MARGIN = 12  # pixels of white kept around the used part of a page
WHITE = 250


def main() -> None:
    """Build the workbook and the template, export both, write the PNG files into docs/."""
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        _pictures(_to_pdf(_demo_report(work), work), PICTURES, work)
        template = write_template(work / "template.xlsx", rows=50)
        _pictures(_to_pdf(template, work), [TEMPLATE_PICTURE], work)


def _pictures(pdf: Path, pictures: list[tuple[str, str]], work: Path) -> None:
    """Each picture from the first page, after the previous one's, that starts with its text."""
    page = 0
    for name, first_text in pictures:
        page = _page_starting(pdf, first_text, after=page)
        crop = _used_box(pdf, page, RESOLUTION, work)
        _to_png(pdf, page, RESOLUTION, crop, DOCS / name)
        print(DOCS / name, f"(page {page})")


def _page_starting(pdf: Path, text: str, *, after: int) -> int:
    """The number of the first page past `after` whose text begins with `text`."""
    pages = int(_pdf_info(pdf)["Pages"])
    for page in range(after + 1, pages + 1):
        command = ["pdftotext", "-f", str(page), "-l", str(page), str(pdf), "-"]
        said = subprocess.run(command, check=True, capture_output=True, text=True, timeout=60)
        if said.stdout.lstrip().startswith(text):
            return page
    raise SystemExit(f"{pdf.name}: no page after {after} starts with {text!r}")


def _pdf_info(pdf: Path) -> dict[str, str]:
    said = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True)
    return dict(line.split(":", 1) for line in said.stdout.splitlines() if ":" in line)


def _write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([HEADER, *rows])
    return path


def _demo_report(work: Path) -> Path:
    with SandboxServer(SandboxConfig()) as server:
        settings = _settings(server, work)
        run_import(_write_csv(work / "earlier.csv", ALREADY), settings)
        outcome = run_import(_write_csv(work / "acme_numbers.csv", ROWS), settings)
    return outcome.report_path


def _settings(server: SandboxServer, work: Path) -> Settings:
    settings = build_settings({"report": {"report_dir": work, "report_format": "xlsx"}})
    api = settings.api.model_copy(
        update={"base_url": server.base_url, "token": SecretStr(server.token)}
    )
    return settings.model_copy(update={"api": api})


def _to_pdf(report: Path, work: Path) -> Path:
    soffice = shutil.which("soffice") or "soffice"
    command = [soffice, "--headless", "--convert-to", "pdf", "--outdir", str(work), str(report)]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    return work / f"{report.stem}.pdf"


def _used_box(pdf: Path, page: int, resolution: int, work: Path) -> tuple[int, int, int, int]:
    """(x, y, width, height) of the non-white part of a page, plus a margin."""
    prefix = work / f"page{page}"
    command = ["pdftoppm", "-gray", "-singlefile", "-r", str(resolution), "-f", str(page)]
    subprocess.run([*command, "-l", str(page), str(pdf), str(prefix)], check=True, timeout=120)
    width, height, pixels = _read_pgm(prefix.with_suffix(".pgm"))
    rows = [y for y in range(height) if min(pixels[y * width : (y + 1) * width]) < WHITE]
    columns = [x for x in range(width) if min(pixels[x::width]) < WHITE]
    left, top = max(columns[0] - MARGIN, 0), max(rows[0] - MARGIN, 0)
    return left, top, columns[-1] + MARGIN - left, rows[-1] + MARGIN - top


def _read_pgm(path: Path) -> tuple[int, int, bytes]:
    """Width, height and grey bytes of a binary PGM file (what `pdftoppm -gray` writes)."""
    data = path.read_bytes()
    magic, width, height, _, pixels = data.split(maxsplit=4)
    assert magic == b"P5", path
    return int(width), int(height), pixels


def _to_png(
    pdf: Path, page: int, resolution: int, crop: tuple[int, int, int, int], target: Path
) -> None:
    x, y, width, height = crop
    prefix = target.with_suffix("")
    command = ["pdftoppm", "-png", "-singlefile", "-r", str(resolution), "-f", str(page)]
    command += ["-l", str(page), "-x", str(x), "-y", str(y), "-W", str(width), "-H", str(height)]
    subprocess.run([*command, str(pdf), str(prefix)], check=True, timeout=120)


if __name__ == "__main__":
    main()
