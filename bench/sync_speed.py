"""Issue 16's speed rows of `python -m bench`: `plan` and `apply` against a large account.

The account is put straight into a sandbox state file (SQLite, the store's own table:
no request, seconds to write) once; each run's sandbox process (50 ms latency, its
request log kept for the apply) loads it into memory, so the sandbox does not commit
every write to SQLite on its event loop (which alone held the apply to ~100 writes/s).
The sheets:

- plan: `PLAN_ROWS` rows, the account's first 99.5 % (every 100th with a new callback
  URL) and 0.5 % new numbers; the account holds `PLAN_ROWS` records. Without `--prune`
  the numbers are looked up in batches; with it the account is listed page by page (and
  its 500 numbers the sheet lacks become would_delete).
- apply: `APPLY_ROWS` records, the sheet moves every callback: `APPLY_ROWS` PATCHes.

Each runs `python -m importer.cli plan|apply` as a user would, end to end; the apply's
PATCH phase is read from the sandbox's request log (first to last PATCH arrival).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.campaign import number
from bench.datasets import DATA, ROOT

PLAN_ROWS = 100_000
APPLY_ROWS = 10_000
LATENCY_MS = 50.0
CONCURRENCY = 64
HEADER = "Phone Number,Capabilities,Callback URL,Name"
CALLBACK_A = "https://a.example.com/sms"
CALLBACK_B = "https://b.example.com/sms"

_SERVER = """
import signal, sys
from pathlib import Path
from importer.sandbox import SandboxConfig, SandboxServer
from importer.sandbox.store import SqliteStore
server = SandboxServer(SandboxConfig(latency_ms=float(sys.argv[1])))
store = SqliteStore(Path(sys.argv[2]))
for record, messaging in store.load():
    server.state.put(record, messaging)
store.close()
with server:
    print(server.base_url, server.token, flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
"""


@dataclass(frozen=True)
class Sandbox:
    """A sandbox process: where it answers, its token."""

    base_url: str
    token: str
    pid: int

    def requests(self) -> list[dict[str, Any]]:
        """Its request log (the admin endpoint)."""
        request = urllib.request.Request(
            urllib.parse.urljoin(self.base_url, "/_sandbox/requests"),
            headers={"Authorization": f"Bearer {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            requests: list[dict[str, Any]] = json.load(answer)["requests"]
        return requests


def record(i: int) -> dict[str, Any]:
    """The account's i-th record, as the sandbox stores one."""
    from importer.sandbox.config import DEFAULT_CARRIER_SID, PARTNER_A_SID
    from importer.sandbox.numbers import derived_fields

    digits = number(i)
    return derived_fields(digits) | {
        "active_capabilities": 3,
        "attributes": {},
        "callback_url": CALLBACK_A,
        "campaign_sid": None,
        "capabilities": 3,
        "classification_sid": None,
        "external_did_sid": f"00000000-0000-4000-8000-{i:012d}",
        "name": f"Number {i}",
        "partner_sid": PARTNER_A_SID,
        "phonenumber": digits,
        "status": "assigned",
        "string_key_1": None,
        "string_key_2": None,
        "underlying_carrier_sid": DEFAULT_CARRIER_SID,
    }


def write_state(path: Path, count: int) -> Path:
    """A sandbox state file holding `count` records (the store's own schema)."""
    from importer.sandbox.store import SqliteStore

    partial = path.with_name(f".partial.{path.name}")
    partial.unlink(missing_ok=True)
    SqliteStore(partial).close()
    rows = ((record(i)["external_did_sid"], i + 1, json.dumps(record(i))) for i in range(count))
    with closing(sqlite3.connect(partial)) as db, db:  # closed: the WAL is folded in
        db.executemany("INSERT INTO records (sid, position, body) VALUES (?, ?, ?)", rows)
        db.execute("INSERT INTO meta (key, value) VALUES ('next_name', '900000')")
    partial.rename(path)
    return path


def write_sheet(path: Path, lines: Iterator[str]) -> Path:
    partial = path.with_name(f".partial.{path.name}")
    partial.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    partial.rename(path)
    return path


def plan_line(i: int) -> str:
    callback = CALLBACK_B if i % 100 == 0 else CALLBACK_A
    return f"+{number(i)},3,{callback},Number {i}"


def data(name: str) -> tuple[Path, Path]:
    """(sheet, state) of `plan` or `apply`, generated on first use into bench/data/."""
    rows = PLAN_ROWS if name == "plan" else APPLY_ROWS
    sheet, state = DATA / f"sync_{name}_sheet.csv", DATA / f"sync_{name}_state.sqlite"
    DATA.mkdir(parents=True, exist_ok=True)
    if not state.exists():
        write_state(state, rows)
    if not sheet.exists() and name == "plan":
        kept = rows - rows // 200
        numbers = [*range(kept), *range(rows, rows + rows // 200)]
        write_sheet(sheet, (plan_line(i) for i in numbers))
    elif not sheet.exists():
        write_sheet(sheet, (f"+{number(i)},3,{CALLBACK_B},Number {i}" for i in range(rows)))
    return sheet, state


@contextmanager
def sandbox(state: Path, latency_ms: float = LATENCY_MS) -> Iterator[Sandbox]:
    """A sandbox process serving the records of `state` from memory (a copy of the file
    is read; nothing is written back)."""
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "state.sqlite"
        shutil.copyfile(state, copy)
        env = os.environ | {"PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-c", _SERVER, str(latency_ms), str(copy)]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
        try:
            assert process.stdout is not None
            base_url, token = process.stdout.readline().split()
            yield Sandbox(base_url, token, process.pid)
        finally:
            process.terminate()
            process.wait(10)


def command(action: str, sheet: Path, out: Path, base_url: str, *flags: str) -> list[str]:
    """`did-import plan|apply SHEET` against `base_url`, its report and summary in `out`."""
    return [
        *(sys.executable, "-m", "importer.cli", action, str(sheet), "--quiet", *flags),
        *("--base-url", base_url, "--concurrency", str(CONCURRENCY)),
        *("--report", f"{out}/r.xlsx", "--summary-json", f"{out}/summary.json"),
        *(("--journal", f"{out}/journal.sqlite") if action == "apply" else ()),
    ]


def patch_phase(requests: list[dict[str, Any]]) -> dict[str, Any]:
    """The PATCHes' count and span (first to last arrival) and every request's count."""
    patches = [entry["time"] for entry in requests if entry["method"] == "PATCH"]
    span = max(patches) - min(patches) if len(patches) > 1 else 0.0
    return {"requests": len(requests), "patches": len(patches), "patch_s": span}
