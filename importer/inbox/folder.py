"""One inbox folder: its layout, its lock, and one pass over its files (`Inbox`).

See `importer.inbox` for the layout and the life of a file.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from importer.config import Settings, redact, secrets_of
from importer.errors import ConfigError, ImporterError, InboxBusy, JournalBusy, RunStopped
from importer.inbox.records import FileOutcome, FileState, InboxRun, Ledger, write_json
from importer.journal import JOURNAL_NAME, Journal
from importer.journal.lock import Holder, locked
from importer.loader import sha256_of
from importer.logs import describe_counts, event, get_logger
from importer.reporter.files import default_report_path
from importer.run.notify import notify
from importer.run.outcome import RunOutcome

Runner = Callable[[Path, Settings], RunOutcome]
Sleep = Callable[[float], None]

TEMPORARY_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".filepart", ".swp")
TEMPORARY_PREFIXES = (".", "~$", "~")
STATE_DIR = ".did-import"
HOMES = {"done": "done", "failed": "failed", "duplicate": "duplicates", "pending": "processing"}

_log = get_logger("importer.inbox")


@dataclass(frozen=True, slots=True)
class _Job:
    """A claimed file: its folder under processing/, its name and its sha256."""

    folder: Path
    name: str
    sha256: str

    def outcome(self, state: FileState, code: int, folder: Path, **extra: Any) -> FileOutcome:
        """This job's `FileOutcome`, ending in `folder`."""
        return FileOutcome(
            name=self.name,
            state=state,
            exit_code=code,
            job=self.folder.name,
            folder=folder,
            sha256=self.sha256,
            **extra,
        )


class Inbox:
    """One inbox folder: its layout, its lock, and one pass over its files."""

    def __init__(
        self, root: Path, settings: Settings, runner: Runner, sleep: Sleep, stop: threading.Event
    ) -> None:
        self.root, self.settings, self.runner, self.sleep = root, settings, runner, sleep
        self.stop = stop
        self.processing = root / "processing"
        self.state = root / STATE_DIR
        self.homes = {state: root / folder for state, folder in HOMES.items()}
        self.secrets = secrets_of(settings)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold `DIR/.did-import/lock`; raise `InboxBusy` if another process has it."""
        if not self.root.is_dir():
            raise ConfigError(f"{self.root}: inbox folder does not exist")
        for folder in (self.root / "incoming", self.processing, self.state):
            folder.mkdir(parents=True, exist_ok=True)
        with locked(self.state / "lock", self._busy):
            yield

    def _busy(self, holder: Holder) -> InboxBusy:
        by = holder.describe()
        return InboxBusy(
            f"{self.root}: another did-import inbox run holds the lock ({by}); nothing done"
        )

    def run_once(self, *, idle_level: int) -> InboxRun:
        """One pass: resume jobs left in processing/, then claim and run new files."""
        started = datetime.now(UTC)
        resumed = [path for path in sorted(self.processing.iterdir()) if _resumable(path)]
        claimed, waiting = self._claim_new()
        outcomes = []
        with closing(Ledger(self.state / "ledger.sqlite")) as self.ledger:
            for folder in [*resumed, *claimed]:
                if self.stop.is_set():
                    break
                outcomes.append(self._handle(folder))
        run = InboxRun(self.root, tuple(outcomes), tuple(waiting), started, datetime.now(UTC))
        level = logging.INFO if run.files else idle_level
        message = f"inbox {self.root}: {run.describe()} (exit {run.exit_code})"
        event(_log, "inbox_end", message, level=level, **run.fields())
        if run.files:
            notify(run.to_json(), self.settings.notify, secrets=self.secrets)
        return run

    # -- claiming new files --------------------------------------------------------------

    def _claim_new(self) -> tuple[list[Path], list[str]]:
        candidates, waiting = self._candidates()
        first = {path: _look(path) for path in candidates}
        if first:
            self.sleep(self.settings.inbox.settle)
        claimed = []
        for path, seen in first.items():
            now = _look(path)
            if now is None:  # taken away meanwhile
                continue
            if now == seen:
                claimed.append(self._claim(path))
            else:
                waiting.append(path.name)
                _waiting(path.name, "still being written")
        return claimed, waiting

    def _candidates(self) -> tuple[list[Path], list[str]]:
        """Regular files in DIR and DIR/incoming, oldest first; temporary names set aside."""
        found, temporary = [], []
        for folder in (self.root, self.root / "incoming"):
            for path in folder.iterdir():
                if not path.is_file() or path.is_symlink() or path.name.startswith("."):
                    continue
                if is_temporary(path.name):
                    temporary.append(path.name)
                    _waiting(path.name, "temporary name")
                else:
                    found.append(path)
        return sorted(found, key=_oldest_first), temporary

    def _claim(self, path: Path) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        for attempt in range(1, 1000):
            job = f"{stamp}_{path.name}" if attempt == 1 else f"{stamp}-{attempt}_{path.name}"
            homes = (self.processing, *self.homes.values())
            if not any((home / job).exists() for home in homes):
                (self.processing / job).mkdir()
                _move(path, self.processing / job / path.name)
                return self.processing / job
        raise ImporterError(f"{self.processing}: no free job name for {path.name}")

    # -- running one job -----------------------------------------------------------------

    def _handle(self, folder: Path) -> FileOutcome:
        name = folder.name.split("_", 1)[1]
        job = _Job(folder, name, sha256_of(folder / name))
        event(_log, "file_start", f"{name}: started as {folder.name}", file=name, job=folder.name)
        first = self.ledger.imported(job.sha256)
        if first is not None:
            return self._duplicate(job, *first)
        try:
            outcome = self.runner(folder / name, self._settings_for(job))
        except (RunStopped, JournalBusy) as error:  # resumable, or its journal is busy
            return self._pending(job, str(error), error.exit_code)
        except ImporterError as error:
            return self._unusable(job, error)
        if outcome.exit_code == RunStopped.exit_code:
            return self._pending(job, outcome.summary.stopped_reason, RunStopped.exit_code)
        return self._finished(job, outcome)

    def _settings_for(self, job: _Job) -> Settings:
        report = self.settings.report.model_copy(
            update={
                "report_path": default_report_path(job.folder / job.name, job.folder),
                "summary_json": job.folder / f"{job.name}.summary.json",
            }
        )
        # the pass notifies once for all its files (`run_once`), not each file's run
        unsent = self.settings.notify.model_copy(update={"url": None})
        update: dict[str, object] = {"report": report, "notify": unsent}
        if "path" not in self.settings.journal.model_fields_set:
            journal = self.settings.journal.model_copy(update={"path": self.state / JOURNAL_NAME})
            update["journal"] = journal
        return self.settings.model_copy(update=update)

    def _finished(self, job: _Job, outcome: RunOutcome) -> FileOutcome:
        code = outcome.exit_code
        state = FileState.DONE if code in (0, 1) else FileState.FAILED
        target = self._close(job, state, code)
        report = target / outcome.report_path.name
        with Journal(self._settings_for(job).journal.path or self.state / JOURNAL_NAME) as journal:
            journal.report_moved(outcome.report_path, report)
        summary = target / outcome.summary_path.name if outcome.summary_path else None
        if summary is not None and summary.exists():
            _relocate_summary(summary, report, target / job.name)
        reason = outcome.summary.stopped_reason
        return self._report(
            job.outcome(
                state,
                code,
                target,
                report_path=report,
                summary_path=summary,
                counts=dict(outcome.summary.counts),
                note=reason and self._redact(reason),
            )
        )

    def _unusable(self, job: _Job, error: ImporterError) -> FileOutcome:
        target = self._close(job, FileState.FAILED, error.exit_code)
        message = self._redact(str(error).replace(str(job.folder), str(target)))
        note = target / f"{job.name}.error.json"
        facts = {"file": job.name, "sha256": job.sha256, "exit_code": error.exit_code}
        write_json(note, {**facts, "error": message})
        return self._report(
            job.outcome(FileState.FAILED, error.exit_code, target, summary_path=note, note=message)
        )

    def _duplicate(self, job: _Job, first_job: str, first_at: str) -> FileOutcome:
        message = f"same content as done/{first_job} (imported {first_at}); not imported again"
        note = job.folder / f"{job.name}.duplicate.json"
        write_json(note, {"file": job.name, "sha256": job.sha256, "note": message})
        target = self._close(job, FileState.DUPLICATE, 1)
        summary = target / note.name
        return self._report(
            job.outcome(FileState.DUPLICATE, 1, target, summary_path=summary, note=message)
        )

    def _pending(self, job: _Job, reason: str | None, code: int) -> FileOutcome:
        why = self._redact(reason or "interrupted")
        message = f"stopped ({why}); stays in processing/ and resumes on the next run"
        return self._report(job.outcome(FileState.PENDING, code, job.folder, note=message))

    def _close(self, job: _Job, state: FileState, code: int) -> Path:
        """Move the job folder to its state's home and remember the file in the ledger."""
        target = self.homes[state] / job.folder.name
        target.parent.mkdir(parents=True, exist_ok=True)
        _move(job.folder, target)
        record = {"name": job.name, "job": target.name, "outcome": state.value}
        self.ledger.record(job.sha256, **record, exit_code=code)
        return target

    def _redact(self, text: str) -> str:
        return redact(text, self.secrets)

    def _report(self, outcome: FileOutcome) -> FileOutcome:
        """Log the file's outcome as `file_<state>` and return it."""
        tally = f": {describe_counts(outcome.counts)}" if outcome.counts else ""
        note = f" — {outcome.note}" if outcome.note else ""
        where = outcome.folder.relative_to(self.root)
        text = f"{outcome.name} → {where}{tally}{note} (exit {outcome.exit_code})"
        level = logging.INFO if outcome.state is FileState.DONE else logging.WARNING
        event(_log, f"file_{outcome.state.value}", text, level=level, **outcome.fields())
        return outcome


def _waiting(name: str, why: str) -> None:
    event(_log, "file_waiting", f"{name}: {why}; left for the next run", file=name, reason=why)


def _resumable(folder: Path) -> bool:
    """A job folder left in processing/ that still holds its file."""
    name = folder.name.partition("_")[2]
    if folder.is_dir() and name and (folder / name).is_file():
        return True
    message = f"processing/{folder.name}: not a job folder holding its file; left alone"
    event(_log, "job_ignored", message, level=logging.WARNING, job=folder.name)
    return False


def is_temporary(name: str) -> bool:
    """Whether `name` looks like a file still being written or an editor's lock file."""
    lower = name.lower()
    return lower.startswith(TEMPORARY_PREFIXES) or lower.endswith((*TEMPORARY_SUFFIXES, "~"))


def _look(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


def _oldest_first(path: Path) -> tuple[int, str]:
    look = _look(path)
    return (look[1] if look else 0, path.name)


def _move(source: Path, target: Path) -> None:
    try:
        os.replace(source, target)
    except OSError:  # another file system (a mounted incoming/): copy, then remove
        shutil.move(source, target)


def _relocate_summary(summary: Path, report: Path, input_file: Path) -> None:
    """Point the moved summary at where its report and input now are."""
    data = json.loads(summary.read_text(encoding="utf-8"))
    data["report_path"] = str(report)
    if isinstance(data.get("input"), dict):
        data["input"]["file"] = str(input_file)
    write_json(summary, data)
