"""libphonenumber's example numbers, in every spelling a partner uses: none read as another.

Every example number `phonenumbers` has (each supported region and number type, and
each non-geographic entity's) is written six ways and read by
`importer.validate.phone` with the default `[validation]` policy:

    e164            +4930123456        no region
    international   +49 30 123456      no region
    national        030 123456         the number's region
    nsn             30123456           the number's region (a lost trunk 0)
    bare            4930123456         the number's region (a lost +)
    bare_no_region  4930123456         no region

(a non-geographic number has no region: only the three spellings without one). Each
reading is counted as `same` (that number, no issue), `warned` (that number with a
warning), `refused <code>`, or `different` (read as another number: must be 0).

Then `--nanp N` random valid ten-digit US numbers are read with region US, and counted
where `+` and the same digits is a valid number of another country too: what reading
every such string as ambiguous would refuse (the tool reads them as US: see the README).

    python bench/example_numbers.py [--show N] [--nanp N]
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from importer.config import DEFAULT_SMS_INCAPABLE
from importer.validate.phone import KIND_NAMES, NumberPolicy, country_of, read_number

SPELLINGS = ("e164", "international", "national", "nsn", "bare", "bare_no_region")
POLICY = NumberPolicy(sms_incapable=frozenset(DEFAULT_SMS_INCAPABLE))


class Example(NamedTuple):
    region: str  # "001" for a non-geographic entity
    kind: str
    number: phonenumbers.PhoneNumber


class Outcome(NamedTuple):
    example: Example
    spelling: str
    text: str
    region: str | None
    verdict: str  # same, warned, refused <code>, different


def examples() -> Iterator[Example]:
    """Every valid example number, by region and type, then the non-geographic ones."""
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in PhoneNumberType.values():
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None and phonenumbers.is_valid_number(number):
                yield Example(region, KIND_NAMES[kind], number)
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        number = phonenumbers.example_number_for_non_geo_entity(code)
        if number is not None and phonenumbers.is_valid_number(number):
            kind = KIND_NAMES[phonenumbers.number_type(number)]
            yield Example("001", kind, number)


def spellings(example: Example) -> Iterator[tuple[str, str, str | None]]:
    """(spelling, text, default region) for one example number."""
    number = example.number
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    yield "e164", e164, None
    yield "international", phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL), None
    if example.region != "001":
        national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
        yield "national", national, example.region
        yield "nsn", phonenumbers.national_significant_number(number), example.region
        yield "bare", e164[1:], example.region
    yield "bare_no_region", e164[1:], None


def outcomes() -> Iterator[Outcome]:
    """Every example in every spelling, with what the tool made of it."""
    for example in examples():
        expected = phonenumbers.format_number(example.number, PhoneNumberFormat.E164)[1:]
        for spelling, text, region in spellings(example):
            yield Outcome(example, spelling, text, region, _verdict(text, region, expected))


def _verdict(text: str, region: str | None, expected: str) -> str:
    reading = read_number(text, region)
    if reading.problem is not None:
        return f"refused {reading.problem.code}"
    if reading.digits != expected:
        return "different"
    return "warned" if POLICY.issues(reading, text) else "same"


def table(found: list[Outcome]) -> str:
    """Counts by spelling and verdict, as a Markdown table."""
    counts = Counter((outcome.spelling, outcome.verdict) for outcome in found)
    verdicts = sorted({verdict for _, verdict in counts}, key=_verdict_order)
    lines = [
        "| spelling | " + " | ".join(verdicts) + " | total |",
        "|---" * (len(verdicts) + 2) + "|",
    ]
    for spelling in SPELLINGS:
        row = [counts[spelling, verdict] for verdict in verdicts]
        lines.append(f"| {spelling} | " + " | ".join(map(str, row)) + f" | {sum(row)} |")
    return "\n".join(lines)


def _verdict_order(verdict: str) -> tuple[int, str]:
    return ({"same": 0, "warned": 1, "different": 3}.get(verdict, 2), verdict)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--show", type=int, default=5, help="examples to list per verdict")
    parser.add_argument("--nanp", type=int, default=20_000, help="random US numbers to read")
    args = parser.parse_args()
    found = list(outcomes())
    numbers = sum(outcome.spelling == "e164" for outcome in found)
    print(f"{numbers} example numbers, {len(found)} spellings read\n")
    print(table(found))
    for verdict in sorted({o.verdict for o in found} - {"same"}, key=_verdict_order):
        print(f"\n{verdict}: by type", _by_kind(found, verdict))
        for outcome in [o for o in found if o.verdict == verdict][: args.show]:
            print(f"  {outcome.spelling:15} {outcome.text!r} region {outcome.region}")
    print(nanp_doubles(args.nanp))
    return 1 if any(o.verdict == "different" for o in found) else 0


def nanp_doubles(count: int, seed: int = 18) -> str:
    """How many of `count` random valid US numbers are valid international numbers too."""
    pick = random.Random(seed)
    doubles: Counter[str] = Counter()
    changed = 0
    for _ in range(count):
        digits = _random_us_number(pick)
        international = read_number("+" + digits, None).digits
        if international is not None:
            doubles[country_of(international)] += 1
        changed += read_number(digits, "US").digits != "1" + digits
    top = ", ".join(f"{region} {n}" for region, n in doubles.most_common(8))
    share = sum(doubles.values()) / count
    return (
        f"\n{count} random valid US numbers, ten digits with region US: "
        f"{sum(doubles.values())} ({share:.1%}) are valid international numbers as well "
        f"({top}, ...); read as another number than the US one: {changed}"
    )


def _random_us_number(pick: random.Random) -> str:
    while True:
        digits = f"{pick.randrange(2, 10)}{pick.randrange(10**9):09d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(digits, "US")):
            return digits


def _by_kind(found: list[Outcome], verdict: str) -> str:
    kinds = Counter(o.example.kind for o in found if o.verdict == verdict)
    return ", ".join(f"{kind} {count}" for kind, count in kinds.most_common())


if __name__ == "__main__":
    sys.exit(main())
