"""The benchmark data sets, generated deterministically into bench/data/ (git-ignored).

A realistic partner mix, the same bytes every time (seeded): 87 % US numbers written in
the styles partners use (`+1 205 905 1025`, `(205) 905-1025`, `12059051025`, a numeric
cell in XLSX), the rest international (`+44 7911 123456`, `+49 …`, `0044…`); about 6 %
bad rows (letters, too short, scientific notation, voice capabilities, a carrier SID
that is not a UUID); 10 % of rows repeat an earlier number.

    python -m bench.datasets 100k xlsx     # writes bench/data/partner_100k.xlsx
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
SIZES = {"5k": 5_000, "100k": 100_000, "1m": 1_000_000}
HEADER = ("Phone Number", "Capabilities", "Name", "Carrier SID")
SEED = 20261122
CARRIER = "6e1e4f3a-52c1-4a0c-9d6b-7f5a3b2c1d0e"
US_SHARE, BAD_SHARE, REPEAT_SHARE = 0.87, 0.06, 0.10
AREAS = ("205", "212", "213", "312", "415", "503", "617", "646", "702", "713", "305", "404")
US_STYLES = ("+1 {a} {b} {c}", "({a}) {b}-{c}", "1{a}{b}{c}", "+1{a}{b}{c}", "{a}.{b}.{c}")
# (format, random digits): mobile ranges that phonenumbers takes as valid
FOREIGN = (
    ("+44 79{}", 8),
    ("+49 151 {}", 8),
    ("+33 6 {}", 8),
    ("+61 4{}", 8),
    ("0052 55 {}", 8),
    ("+91 98{}", 8),
)
BAD_CELLS = ("call me", "555-0100", "1.20591E+10", "+1 205 905", "n/a", "+999 1234567")
MASKS = ("3", "27", "sms", "24", "1", "sms+mms")
BAD_MASKS = ("7", "voice", "99")

Row = tuple[object, str, str, str]


def rows(count: int, *, numeric_cells: bool, carrier_sid: str = CARRIER) -> Iterator[Row]:
    """`count` rows of the mix; `numeric_cells` writes some US numbers as numbers (XLSX)."""
    pick = random.Random(SEED)
    seen: list[object] = []
    for n in range(count):
        roll = pick.random()
        mask, carrier = pick.choice(MASKS), carrier_sid
        if seen and roll < REPEAT_SHARE:
            number: object = pick.choice(seen)
        elif roll < REPEAT_SHARE + BAD_SHARE:
            number, mask, carrier = _bad(pick)
        else:
            number = _good(pick, numeric_cells)
            if len(seen) < 50_000:
                seen.append(number)
            else:
                seen[pick.randrange(len(seen))] = number
        yield number, mask, f"Line {n}", carrier


def _good(pick: random.Random, numeric_cells: bool) -> object:
    if pick.random() >= US_SHARE / (1 - REPEAT_SHARE - BAD_SHARE):
        form, digits = pick.choice(FOREIGN)
        return form.format("".join(pick.choice("0123456789") for _ in range(digits)))
    area, line = pick.choice(AREAS), pick.randrange(2_000_000, 9_999_999)
    if numeric_cells and pick.random() < 0.2:
        return int(f"1{area}{line}")
    text = f"{line}"
    return pick.choice(US_STYLES).format(a=area, b=text[:3], c=text[3:])


def _bad(pick: random.Random) -> tuple[object, str, str]:
    kind = pick.randrange(3)
    good = f"+1 {pick.choice(AREAS)} {pick.randrange(2_000_000, 9_999_999)}"
    if kind == 0:
        return pick.choice(BAD_CELLS), pick.choice(MASKS), CARRIER
    if kind == 1:
        return good, pick.choice(BAD_MASKS), CARRIER
    return good, pick.choice(MASKS), "carrier-42"


def write_csv(path: Path, count: int, carrier_sid: str = CARRIER) -> None:
    """The CSV data set (UTF-8, comma, CRLF)."""
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(HEADER) + "\r\n")
        for row in rows(count, numeric_cells=False, carrier_sid=carrier_sid):
            out.write(",".join(str(cell) for cell in row) + "\r\n")


def write_xlsx(path: Path, count: int) -> None:
    """The XLSX data set, written with xlsxwriter in constant-memory mode."""
    import xlsxwriter

    options = {"constant_memory": True, "strings_to_numbers": False, "strings_to_urls": False}
    workbook = xlsxwriter.Workbook(str(path), options)
    sheet = workbook.add_worksheet("Numbers")
    sheet.write_row(0, 0, HEADER)
    for index, row in enumerate(rows(count, numeric_cells=True), start=1):
        sheet.write_row(index, 0, row)
    workbook.close()


def data_file(size: str, file_format: str) -> Path:
    """The data set's path, generated on first use."""
    path = DATA / f"partner_{size}.{file_format}"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        print(f"generating {path.name} ...", file=sys.stderr, flush=True)
        partial = path.with_name(f".partial.{path.name}")
        (write_csv if file_format == "csv" else write_xlsx)(partial, SIZES[size])
        partial.rename(path)
    return path


def run_file(size: str) -> Path:
    """A CSV data set for `run` against the sandbox: its carrier SID is one the sandbox knows."""
    from importer.sandbox.config import DEFAULT_CARRIER_SID

    path = DATA / f"run_{size}.csv"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".partial.{path.name}")
        write_csv(partial, SIZES[size], DEFAULT_CARRIER_SID)
        partial.rename(path)
    return path


if __name__ == "__main__":
    print(data_file(sys.argv[1], sys.argv[2]))
