"""One benchmark case, run in a fresh process: `python -m bench.cases CASE INPUT OUTDIR`.

Prints one JSON line: the case's own seconds, and the peak RSS of this process and of
its worker processes, from the OS (`getrusage`, so the interpreter and imports count).
The harness (`python -m bench`) runs each case in its own process, so no case inherits
another's memory.

Cases:

- `validate`: `importer.api.validate_file` as `did-import validate` runs it, workbook
  report (with CSV twins above the workbook row limit) and JSON summary;
- `validate-csv`: the same with `report_format="csv"` (results and errors CSV only);
- `stages`: the previous, stage-by-stage design: the whole file loaded, then validated
  (`validate_rows`, two cores above 50k numbers), then the report written from the list,
  with the fast paths off (rows written cell by cell by xlsxwriter, every number through
  `phonenumbers.parse`);
- `stages-csv`: the same, CSV report;
- `naive`: the straightforward script: pandas (openpyxl for XLSX, the C parser for CSV)
  reads the sheet as text, `phonenumbers` parses each row, pandas writes the sheet
  back with a status column (openpyxl, or CSV).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importer.config import Settings

REGION = "US"


def _settings(out: Path, report_format: str | None) -> Settings:
    from importer.config import ReportSettings, RowDefaults, Settings

    report = ReportSettings(
        report_dir=out, summary_json=out / "summary.json", report_format=report_format
    )
    return Settings(defaults=RowDefaults(default_region=REGION), report=report)


def validate(path: Path, out: Path, report_format: str | None = None) -> None:
    """The streaming path, as `did-import validate` runs it."""
    from importer.api import validate_file

    validate_file(path, _settings(out, report_format))


def stages(path: Path, out: Path, report_format: str | None = None) -> None:
    """The previous design: each stage over the whole file, fast paths off."""
    from collections import Counter

    from importer.loader import load_file
    from importer.mapping import build_mapping
    from importer.reporter import workbook
    from importer.run.outcome import Ending, write_outcome
    from importer.validate import phone
    from importer.validate.rows import validate_rows
    from importer.validate.streaming import StreamedFile

    workbook.FAST_ROWS = False
    phone.FAST_NANP = False
    settings = _settings(out, report_format)
    started = datetime.now(UTC)
    loaded = load_file(path, settings.input)
    mapping = build_mapping(loaded.source.header, settings.input.columns, source=path.name)
    results = validate_rows(loaded.rows, mapping, settings.defaults, settings.validation)
    counts = Counter(result.status for result in results)
    listed = StreamedFile(loaded.source, mapping.describe(), results, counts, len(results))
    write_outcome(listed, settings, Ending(mode="validate", started=started))


def naive(path: Path, out: Path) -> None:
    """pandas in, phonenumbers per row, pandas out."""
    import pandas
    import phonenumbers

    if path.suffix == ".xlsx":
        frame = pandas.read_excel(path, engine="openpyxl", dtype=str, keep_default_na=False)
    else:
        frame = pandas.read_csv(path, dtype=str, keep_default_na=False)
    statuses, numbers = [], []
    for text in frame["Phone Number"]:
        try:
            number = phonenumbers.parse(text, REGION)
            valid = phonenumbers.is_valid_number(number)
        except phonenumbers.NumberParseException:
            valid = False
        statuses.append("would_register" if valid else "invalid")
        e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        numbers.append(e164 if valid else "")
    frame["status"], frame["normalized_phonenumber"] = statuses, numbers
    if path.suffix == ".xlsx":
        frame.to_excel(out / "naive.xlsx", engine="openpyxl", index=False)
    else:
        frame.to_csv(out / "naive.csv", index=False)


CASES = {
    "validate": validate,
    "validate-csv": lambda path, out: validate(path, out, "csv"),
    "stages": stages,
    "stages-csv": lambda path, out: stages(path, out, "csv"),
    "naive": naive,
}


def main() -> None:
    """Run one case and print its measurements as JSON."""
    case, path, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    started = time.perf_counter()
    CASES[case](path, out)
    seconds = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "rss_mb": own, "worker_rss_mb": workers}))


if __name__ == "__main__":
    main()
