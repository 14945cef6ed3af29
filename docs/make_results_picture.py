"""Render the README's pictures of a results workbook, headless.

Run from the repository root: `python docs/make_results_picture.py`. It needs
LibreOffice (`soffice`) and poppler (`pdftoppm`) on PATH. A small partner file goes
through the real pipeline against the embedded sandbox (a first run registers two of
its numbers, so the second shows `already_registered` too); the second run's workbook
is exported to PDF by LibreOffice and its first two pages (Results, Summary) become
docs/results-workbook.png and docs/results-summary.png. Look at both before committing.
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
# Per picture: its page in the PDF (Results, then Summary) and the resolution in dpi.
PICTURES = {"results-workbook.png": (1, 200), "results-summary.png": (2, 120)}
SUMMARY_ROWS_SHOWN = 0.42  # of the Summary page's used height: the counts, the chart
MARGIN = 12  # pixels of white kept around the used part of a page
WHITE = 250


def main() -> None:
    """Build the workbook, export it, and write the two PNG files into docs/."""
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        report = _demo_report(work)
        pdf = _to_pdf(report, work)
        for name, (page, resolution) in PICTURES.items():
            crop = _used_box(pdf, page, resolution, work)
            if page == PICTURES["results-summary.png"][0]:
                crop = (*crop[:3], int(crop[3] * SUMMARY_ROWS_SHOWN))
            _to_png(pdf, page, resolution, crop, DOCS / name)
            print(DOCS / name)


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
