"""Write the partner-style sample files: partner_numbers.xlsx and partner_numbers.csv.

    python sample_data/make_samples.py

50 data rows as a partner sends them: numbers in several spellings (E.164, national
with punctuation, Excel numeric cells), a few international numbers, extra columns the
importer does not know (kept in the report), and ten bad rows of different kinds, each
labelled in the "Notes" column with what is wrong. Deterministic: the same rows and cells
every run (only the workbook's save time, which openpyxl always sets, differs).
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import openpyxl
import phonenumbers
from openpyxl.styles import Font

HERE = Path(__file__).parent
HEADER = (
    "Phone Number",
    "Capabilities",
    "Callback URL",
    "Carrier SID",
    "Name",
    "Store ID",
    "Notes",
)
TITLE = "Acme Mobile — numbers to register with CarrierX (November 2026)"
CALLBACK = "https://hooks.acme-mobile.example/carrierx/sms"
CARRIER = "61ced070-8dad-43b4-b5e6-f7d61f7aeb65"
US_AREAS = ("205", "212", "305", "312", "415", "512", "617", "702", "786", "917")
ABROAD = (("GB", "447"), ("GB", "4420"), ("DE", "4915"), ("AU", "614"), ("FR", "336"), ("MX", "52"))

Cell = str | int


def valid_number(rng: random.Random, region: str, prefix: str) -> phonenumbers.PhoneNumber:
    """A random number that libphonenumber accepts as valid for `region`."""
    while True:
        digits = prefix + "".join(str(rng.randint(0, 9)) for _ in range(12))
        for length in range(len(prefix) + 4, len(digits)):
            number = phonenumbers.parse("+" + digits[:length])
            valid = phonenumbers.is_valid_number(number)
            if valid and phonenumbers.region_code_for_number(number) == region:
                return number


def spelled(rng: random.Random, number: phonenumbers.PhoneNumber, index: int) -> Cell:
    """The number the way partners write it, varying from row to row."""
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if number.country_code != 1:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    national = str(number.national_number)
    spellings: list[Cell] = [
        e164,
        f"+1 ({national[:3]}) {national[3:6]}-{national[6:]}",
        f"1-{national[:3]}-{national[3:6]}-{national[6:]}",
        int(e164[1:]),
    ]
    return spellings[index % len(spellings)]


def good_rows(rng: random.Random) -> list[tuple[Cell, ...]]:
    """40 valid rows: mostly US, some abroad, a few with their own carrier SID."""
    rows: list[tuple[Cell, ...]] = []
    for index in range(40):
        if index % 7 == 6:
            number = valid_number(rng, *ABROAD[(index // 7) % len(ABROAD)])
        else:
            number = valid_number(rng, "US", "1" + US_AREAS[index % len(US_AREAS)])
        mask = (3, 3, 27, 3, 24, 1)[index % 6]
        carrier = CARRIER if index % 5 == 0 else ""
        name = f"Store {100 + index}" if index % 3 else ""
        rows.append(
            (spelled(rng, number, index), mask, CALLBACK, carrier, name, f"S-{100 + index}", "")
        )
    return rows


def bad_rows(first_good: Cell) -> list[tuple[Cell, ...]]:
    """Ten rows with one problem each, described in Notes."""
    dup = f"1-{str(first_good)[2:5]}-{str(first_good)[5:8]}-{str(first_good)[8:]}"
    return [
        ("+1 (205) 555-0199", 7, CALLBACK, "", "Front desk", "S-900", "bad: voice bit (4) set"),
        ("+1 (312) 555-0142", 0, CALLBACK, "", "", "S-901", "bad: empty capability mask"),
        ("+1 (123) 456-7890", 3, CALLBACK, "", "", "S-902", "bad: invalid area code"),
        ("1.20591E+10", 3, CALLBACK, "", "", "S-903", "bad: Excel scientific notation"),
        (dup, 3, CALLBACK, "", "", "S-904", "bad: repeats the first row"),
        ("+1 (415) 555-0173", 3, "www.acme-mobile.example/sms", "", "", "S-905", "bad: URL"),
        ("+1 (617) 555-0110", 3, CALLBACK, "acme-carrier-01", "", "S-906", "bad: carrier SID"),
        ("", 3, CALLBACK, "", "Spare line", "S-907", "bad: no number"),
        ("call reception", 3, CALLBACK, "", "", "S-908", "bad: not a number"),
        ("+1 (702) 555-0123", "TBD", CALLBACK, "", "", "S-909", "bad: capabilities text"),
    ]


def sample_rows() -> list[tuple[Cell, ...]]:
    """All 50 rows, bad ones spread through the sheet."""
    rng = random.Random(2026)
    good = good_rows(rng)
    rows = list(good)
    for offset, row in enumerate(bad_rows(good[0][0])):
        rows.insert(3 + offset * 5, row)
    return rows


def write_xlsx(path: Path, rows: list[tuple[Cell, ...]]) -> None:
    """A title line, a blank line, then the header: as partners' sheets often are."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Numbers"
    sheet.append([TITLE])
    sheet.append([])
    sheet.append(list(HEADER))
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(list(row))
    workbook.save(path)


def write_csv(path: Path, rows: list[tuple[Cell, ...]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)


if __name__ == "__main__":
    all_rows = sample_rows()
    write_xlsx(HERE / "partner_numbers.xlsx", all_rows)
    write_csv(HERE / "partner_numbers.csv", all_rows)
    print(f"wrote {len(all_rows)} rows to partner_numbers.xlsx and partner_numbers.csv")
