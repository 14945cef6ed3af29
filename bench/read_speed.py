"""How fast the loader reads big partner files, and how much memory it needs.

For 100k- and 1M-row CSV and XLSX files (generated deterministically into bench/data/,
git-ignored, on first use) each reader runs in a fresh subprocess, reading every row
as text; the subprocess reports its wall time and its peak RSS from the OS
(`resource.getrusage(...).ru_maxrss`, which includes the interpreter and the reader's
imports: `after imports` is that floor, taken before the clock starts). Readers
compared in the same run:

- `did-import loader`: `importer.loader.load_file` and iterating its rows (calamine
  for XLSX, one pass of csv for CSV), which is what `validate` and `run` do;
- `pandas+openpyxl` (`read_excel(engine="openpyxl", dtype=str)`), the common baseline,
  and `pandas (C parser)` (`read_csv(dtype=str)`) for CSV. pandas+openpyxl takes
  about 100 s on a 1M-row XLSX here, so it is run at 1M only with `--slow`.

    python bench/read_speed.py [--sizes 100k,1m] [--slow] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
SIZES = {"100k": 100_000, "1m": 1_000_000}
HEADER = ["Phone Number", "Capabilities", "Name", "Carrier SID"]
SLOW = {("xlsx", "pandas+openpyxl", "1m")}

# reader -> (imports, done before the clock starts; code that sets `rows`)
READERS = {
    "did-import loader": (
        "from importer.config import InputSettings\nfrom importer.loader import load_file",
        "rows = sum(1 for _ in load_file(PATH, InputSettings()).rows)",
    ),
    "pandas+openpyxl": (
        "import pandas, openpyxl",
        'rows = len(pandas.read_excel(PATH, engine="openpyxl", dtype=str))',
    ),
    "pandas+calamine": (
        "import pandas, python_calamine",
        'rows = len(pandas.read_excel(PATH, engine="calamine", dtype=str))',
    ),
    "pandas (C parser)": (
        "import pandas",
        "rows = len(pandas.read_csv(PATH, dtype=str, keep_default_na=False))",
    ),
}
FOR_FORMAT = {
    "csv": ["did-import loader", "pandas (C parser)"],
    "xlsx": ["did-import loader", "pandas+calamine", "pandas+openpyxl"],
}

_CHILD = """
import json, resource, sys, time
from pathlib import Path
{imports}
PATH = Path(sys.argv[1])
floor_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
{code}
seconds = time.perf_counter() - started
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"rows": rows, "seconds": seconds, "peak_mb": peak_kb / 1024,
                  "floor_mb": floor_kb / 1024}}))
"""


def rows_of(count: int) -> Iterator[list[object]]:
    """`count` partner-like rows, the same every time (seeded), one at a time.

    A generator: this process must stay small, because a subprocess starts with its
    parent's peak RSS as its own `ru_maxrss`.
    """
    pick = random.Random(20261122)
    carrier = "6e1e4f3a-52c1-4a0c-9d6b-7f5a3b2c1d0e"
    for n in range(count):
        number = f"+1{pick.randrange(201, 989)}{pick.randrange(2_000_000, 9_999_999)}"
        yield [number, pick.choice((3, 27, 24, 1)), f"Line {n}", carrier]


def make_csv(path: Path, count: int) -> None:
    """Write the CSV data set."""
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(HEADER) + "\r\n")
        for row in rows_of(count):
            out.write(",".join(str(cell) for cell in row) + "\r\n")


def make_xlsx(path: Path, count: int) -> None:
    """Write the XLSX data set with xlsxwriter in constant-memory mode."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(path, {"constant_memory": True})
    sheet = workbook.add_worksheet("Numbers")
    sheet.write_row(0, 0, HEADER)
    for index, row in enumerate(rows_of(count), start=1):
        sheet.write_row(index, 0, row)
    workbook.close()


def data_file(file_format: str, size: str) -> Path:
    """The data set's path, generated on first use."""
    path = DATA / f"read_{size}.{file_format}"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        print(f"generating {path.name} ...", file=sys.stderr, flush=True)
        partial = path.with_suffix(".partial" + path.suffix)
        (make_csv if file_format == "csv" else make_xlsx)(partial, SIZES[size])
        partial.rename(path)
    return path


def measure(reader: str, path: Path) -> dict[str, float]:
    """Run one reader over one file in a fresh interpreter."""
    imports, code = READERS[reader]
    code = _CHILD.format(imports=imports, code=code)
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=1800,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def best_of(reader: str, path: Path, repeat: int) -> dict[str, float]:
    """The fastest of `repeat` runs (memory from that run)."""
    runs = [measure(reader, path) for _ in range(repeat)]
    return min(runs, key=lambda run: run["seconds"])


def main() -> None:
    """Measure every reader on every data set and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100k,1m")
    parser.add_argument("--slow", action="store_true", help="also pandas+openpyxl at 1M rows")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"read speed, {started}, python {sys.version.split()[0]}")
    print(
        f"{'file':<16} {'reader':<18} {'rows':>9} {'seconds':>8} {'peak RSS':>9} "
        f"{'after imports':>13} {'time vs loader':>14}"
    )
    for size in args.sizes.split(","):
        for file_format in ("csv", "xlsx"):
            path = data_file(file_format, size)
            ours: float | None = None
            for reader in FOR_FORMAT[file_format]:
                if (file_format, reader, size) in SLOW and not args.slow:
                    print(f"{path.name:<16} {reader:<18} {'skipped (~100 s): use --slow':>40}")
                    continue
                run = best_of(reader, path, args.repeat)
                ours = ours or run["seconds"]  # the loader is measured first
                print(
                    f"{path.name:<16} {reader:<18} {int(run['rows']):>9} "
                    f"{run['seconds']:>8.2f} {run['peak_mb']:>7.0f}MB {run['floor_mb']:>11.0f}MB "
                    f"{run['seconds'] / ours:>13.1f}x",
                    flush=True,
                )


if __name__ == "__main__":
    main()
