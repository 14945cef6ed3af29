"""Coverage-guided fuzzing of the CSV path with atheris (run by hand, not by pytest).

    pip install atheris
    python tests/fuzz/fuzz_csv.py                        # until a crash or Ctrl-C
    python tests/fuzz/fuzz_csv.py -max_total_time=60     # one minute
    python tests/fuzz/fuzz_csv.py -atheris_runs=20000 tests/fuzz/corpus

Each input is written to a temporary `.csv` file and loaded with `load_file`, every
row read, then validated as every command does (`streaming.stream_file`). The only exception allowed
is an `ImporterError` with a one-line message; anything else is a crash that atheris
reports with the input that caused it (saved as crash-<sha1>). The first byte picks
the options (an explicit delimiter or encoding), so those paths are fuzzed too. An
optional corpus folder (any CSV files) seeds the search.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository, if not installed

with atheris.instrument_imports(include=["importer"]):
    from importer.config import InputSettings, Settings
    from importer.errors import ImporterError
    from importer.validate.streaming import stream_file

OPTIONS = [
    InputSettings(),
    InputSettings(delimiter=";"),
    InputSettings(delimiter="\t"),
    InputSettings(encoding="utf-16"),
    InputSettings(encoding="cp1252"),
    InputSettings(encoding="latin-1", delimiter="|"),
]
FOLDER = Path(tempfile.mkdtemp(prefix="fuzz_csv_"))
TARGET = FOLDER / "input.csv"


def test_one_input(data: bytes) -> None:
    """Load and validate `data` as a CSV file: rows, or a one-line ImporterError."""
    if not data:
        return
    options = OPTIONS[data[0] % len(OPTIONS)]
    TARGET.write_bytes(data[1:])
    try:
        stream_file(TARGET, Settings(input=options), None)
    except ImporterError as error:
        if "\n" in error.message or not error.message:
            raise AssertionError(f"not a one-line message: {error.message!r}") from None


def main() -> None:
    """Run atheris with the command line's libFuzzer options."""
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
