"""How fast validation runs, against plain per-row phonenumbers on the same rows, same run.

Rows are synthetic partner rows (phone, capabilities, name) in mixed writing styles. Each
scenario validates them with `validate_rows`; the baseline is the bare minimum a
per-row script would do with phonenumbers (parse, is_valid_number, format E.164), with
no other checks. Ratios above 1 mean validation is faster than that baseline.

    python bench/validation_speed.py [--rows 200000] [--repeat 5] [--trials 3]

Scenarios: every number distinct, one process and all cores (worker processes start
above `PARALLEL_MIN_NUMBERS` distinct numbers); then a file where each number appears
`--repeat` times, where the per-run cache answers the repeats.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

import phonenumbers

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from importer.config import RowDefaults
from importer.mapping import build_mapping
from importer.models import RawRow
from importer.validate.rows import validate_rows

AREAS = ("205", "312", "415", "646", "213", "702", "503", "617")
STYLES = ("+1 {a} {b} {c}", "({a}) {b}-{c}", "1-{a}-{b}-{c}", "+1{a}{b}{c}", "{a}.{b}.{c}")
HEADER = ("Phone Number", "Capabilities", "Name")


def make_rows(count: int, repeat: int, rng: random.Random) -> list[RawRow]:
    """`count` rows; each distinct number appears `repeat` times, shuffled."""
    numbers = []
    for _ in range(-(-count // repeat)):
        area, line = rng.choice(AREAS), rng.randint(2_000_000, 9_999_999)
        text = rng.choice(STYLES).format(a=area, b=str(line)[:3], c=str(line)[3:])
        numbers.extend([text] * repeat)
    rng.shuffle(numbers)
    masks = ("3", "27", "sms", "24")
    return [
        RawRow(n + 2, (text, masks[n % 4], f"row {n}")) for n, text in enumerate(numbers[:count])
    ]


def baseline(rows: list[RawRow]) -> None:
    """Plain per-row phonenumbers: parse, validate, format; nothing else."""
    for row in rows:
        try:
            number = phonenumbers.parse(row.cells[0], "US")
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def timed(job: Callable[[], object], trials: int) -> float:
    """Seconds `job` takes, best of `trials` (the machine may be shared)."""
    best = float("inf")
    for _ in range(trials):
        started = time.perf_counter()
        job()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    """Run every scenario and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--trials", type=int, default=3, help="best of this many runs")
    args = parser.parse_args()
    rng = random.Random(7)
    mapping = build_mapping(HEADER)
    defaults = RowDefaults(default_region="US")
    cores = os.cpu_count() or 1
    distinct = make_rows(args.rows, 1, rng)
    repeated = make_rows(args.rows, args.repeat, rng)

    base = timed(lambda: baseline(distinct), args.trials)
    table = [("plain phonenumbers per row (baseline)", base)]
    for label, rows, workers in (
        ("validate_rows, distinct numbers, 1 process", distinct, 1),
        (f"validate_rows, distinct numbers, {cores} processes", distinct, cores),
        (f"validate_rows, each number x{args.repeat}, 1 process", repeated, 1),
        (f"validate_rows, each number x{args.repeat}, {cores} processes", repeated, cores),
    ):

        def job(rows: list[RawRow] = rows, workers: int = workers) -> object:
            return validate_rows(rows, mapping, defaults, workers=workers)

        table.append((label, timed(job, args.trials)))

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"{args.rows:,} rows, {cores} cores (load average {load}),"
        f" phonenumbers {phonenumbers.__version__}"
    )
    print(f"{'scenario':<52} {'seconds':>8} {'rows/s':>10} {'vs baseline':>12}")
    for label, seconds in table:
        print(f"{label:<52} {seconds:>8.2f} {args.rows / seconds:>10,.0f} {base / seconds:>11.2f}x")


if __name__ == "__main__":
    main()
