"""A saved plan (`plan --out PLAN.json`), and the check that it is still current.

The file says which input it was made from (path and sha256), against which API, with
which options, and for every row it will write: the action and the fingerprint of the
record it will change (`importer.plan.changes.fingerprint`). `apply PLAN.json` reads the
input again and plans it again; it refuses (exit 2, nothing sent) when the input's
sha256 changed, or when any action or record fingerprint differs from the saved one:
the account moved since the plan was made. Its JSON Schema is `schemas/plan.schema.json`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from importer.errors import ConfigError
from importer.models import PLANNED_WRITES, RowResult
from importer.plan.changes import fingerprint
from importer.plan.planning import PlanOptions

__all__ = [
    "PLAN_FORMAT",
    "SavedAction",
    "SavedPlan",
    "check_current",
    "looks_like_plan",
    "plan_counts",
    "read_plan",
    "save_plan",
    "saved_actions",
]

PLAN_FORMAT = "did-import-plan/1"
STALE_SHOWN = 3
"""Rows named in the message refusing a stale plan."""


class SavedAction(BaseModel):
    """One row the plan will write for."""

    model_config = ConfigDict(frozen=True)

    row: int
    phonenumber: str
    action: str
    external_did_sid: str | None = None
    fingerprint: str | None = None
    changes: list[str] = []


class SavedPlan(BaseModel):
    """A plan as written to PLAN.json."""

    model_config = ConfigDict(frozen=True)

    format: str = PLAN_FORMAT
    file: str
    sha256: str
    base_url: str
    created_at: datetime
    prune: bool = False
    allow_replace: bool = False
    empty_clears: bool = False
    counts: dict[str, int]
    actions: list[SavedAction]

    @property
    def options(self) -> PlanOptions:
        """The options the plan was made with (an apply of it uses them)."""
        return PlanOptions(
            prune=self.prune, allow_replace=self.allow_replace, empty_clears=self.empty_clears
        )


def saved_actions(results: Sequence[RowResult]) -> list[SavedAction]:
    """The rows a plan writes for, with what they rely on."""
    return [_saved(result) for result in results if result.status in PLANNED_WRITES]


def _saved(result: RowResult) -> SavedAction:
    planned = result.planned
    record = planned.record if planned is not None else None
    changes = [change.field for change in planned.changes] if planned is not None else []
    return SavedAction(
        row=result.row.number,
        phonenumber=result.normalized_phonenumber or "",
        action=result.status.value,
        external_did_sid=planned.sid if planned is not None else None,
        fingerprint=fingerprint(record) if record is not None else None,
        changes=changes,
    )


def save_plan(
    path: Path,
    results: Sequence[RowResult],
    *,
    source: tuple[str, str, str],
    options: PlanOptions,
    counts: dict[str, int],
) -> SavedPlan:
    """Write the plan of `results` (`source` = input file, sha256, base URL) to `path`."""
    file, sha256, base_url = source
    plan = SavedPlan(
        file=file,
        sha256=sha256,
        base_url=base_url,
        created_at=datetime.now(UTC),
        prune=options.prune,
        allow_replace=options.allow_replace,
        empty_clears=options.empty_clears,
        counts=counts,
        actions=saved_actions(results),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(plan.model_dump_json(indent=1) + "\n", encoding="utf-8")
    return plan


def read_plan(path: Path) -> SavedPlan:
    """The plan saved at `path`; `ConfigError` (exit 2) when it is not one."""
    try:
        plan = SavedPlan.model_validate_json(path.read_bytes())
    except (OSError, ValidationError, ValueError) as error:
        raise ConfigError(f"{path}: not a did-import plan ({_first_line(error)})") from None
    if plan.format != PLAN_FORMAT:
        raise ConfigError(f"{path}: plan format {plan.format!r}, expected {PLAN_FORMAT!r}")
    return plan


def looks_like_plan(path: Path) -> bool:
    """Whether `path` names a saved plan rather than a sheet (by its `.json` extension)."""
    return path.suffix.lower() == ".json"


def holds_plan(path: Path) -> bool:
    """Whether the file at `path` starts as a saved plan does (`"format":
    "did-import-plan/…"`), whatever its name: piped input has none to tell it by."""
    with path.open("rb") as handle:
        head = handle.read(256)
    return head.lstrip().startswith(b"{") and PLAN_FORMAT.partition("/")[0].encode() in head


def check_current(
    plan: SavedPlan,
    path: Path,
    sha256: str,
    base_url: str,
    results: Sequence[RowResult],
    *,
    resumed: Collection[str] = (),
) -> None:
    """Raise `ConfigError` (exit 2) unless `results`, planned again now, are the saved plan.

    `resumed` numbers (written by an unfinished apply of this plan) are not compared:
    the journal settles them.
    """
    if sha256 != plan.sha256:
        raise ConfigError(
            f"{path}: the input changed since the plan was made (sha256 {sha256[:12]}…, "
            f"planned {plan.sha256[:12]}…); nothing was sent; plan again"
        )
    if base_url.rstrip("/") != plan.base_url.rstrip("/"):
        raise ConfigError(f"{path}: the plan was made against {plan.base_url}, not {base_url}")
    stale = [
        number
        for number in _differing(plan.actions, saved_actions(results))
        if number[1:] not in resumed
    ]
    if stale:
        shown = ", ".join(stale[:STALE_SHOWN]) + (" …" if len(stale) > STALE_SHOWN else "")
        raise ConfigError(
            f"{path}: the account changed since the plan was made ({len(stale):,} row(s): "
            f"{shown}); nothing was sent; plan again"
        )


def _differing(saved: Sequence[SavedAction], now: Sequence[SavedAction]) -> list[str]:
    """The numbers whose planned action or record differs between two plans."""
    before = {action.phonenumber: action for action in saved}
    after = {action.phonenumber: action for action in now}
    numbers = sorted(set(before) | set(after))
    return [f"+{number}" for number in numbers if before.get(number) != after.get(number)]


def _first_line(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def plan_counts(results: Sequence[RowResult]) -> dict[str, int]:
    """Rows per status, only the statuses present (the plan's counts)."""
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status.value] = counts.get(result.status.value, 0) + 1
    return counts
