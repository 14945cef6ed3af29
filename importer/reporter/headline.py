"""The one sentence a person reads first: what became of the rows, and where to look next.

`headline` is pure (a `RunSummary` in, a sentence out), so the Summary sheet and, later,
the terminal say the same thing::

    validate  50 rows checked: 40 ready to register, 10 need attention — see Errors
    run       40 of 50 numbers registered; 10 need attention — see Errors
    plan      50 rows planned: 3 to register, 45 unchanged; 2 numbers not in the sheet: 2 to
              delete; nothing needs attention
    apply     50 rows applied: 3 registered, 2 updated, 45 unchanged; nothing needs attention
    delete    3 of 4 numbers deleted, 1 already absent; nothing needs attention
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from importer.models import Status
from importer.reporter.summary import RunSummary

_S = Status
PLAN_PARTS: Sequence[tuple[Status, str]] = (
    (_S.WOULD_REGISTER, "to register"),
    (_S.WOULD_UPDATE, "to update"),
    (_S.WOULD_REPLACE, "to replace"),
    (_S.UNCHANGED, "unchanged"),
)
APPLY_PARTS: Sequence[tuple[Status, str]] = (
    (_S.REGISTERED, "registered"),
    (_S.ALREADY_REGISTERED, "already registered"),
    (_S.UPDATED, "updated"),
    (_S.REPLACED, "replaced"),
    (_S.UNCHANGED, "unchanged"),
)
PRUNED_PARTS: Mapping[str, Sequence[tuple[Status, str]]] = {
    "validate": (),
    "plan": ((_S.WOULD_DELETE, "to delete"),),
    "apply": ((_S.DELETED, "deleted"), (_S.NOT_FOUND, "already absent")),
}
"""The account's numbers a plan or apply deletes (`--prune`): not rows of the sheet, so
said apart from them."""
VALIDATE_PARTS: Sequence[tuple[Status, str]] = (
    (_S.WOULD_REGISTER, "ready to register"),
    (_S.ALREADY_REGISTERED, "already registered"),
)
RUN_PARTS: Sequence[tuple[Status, str]] = ((_S.ALREADY_REGISTERED, "already registered"),)
DELETE_PARTS: Sequence[tuple[Status, str]] = ((_S.NOT_FOUND, "already absent"),)


def headline(summary: RunSummary, attention: int | None = None) -> str:
    """The run in one sentence, per mode; `attention`: rows needing attention (default:
    the rows whose status did not end well — a caller holding the rows passes the count
    that includes rows ending well with a warning that needs attention)."""
    counts = summary.counts
    total = sum(counts.values())
    if attention is None:
        attention = sum(n for name, n in counts.items() if not _ended_well(name))
    mode = summary.mode
    if mode in ("run", "delete"):
        done, verb, parts = (
            (_S.REGISTERED, "registered", RUN_PARTS)
            if mode == "run"
            else (_S.DELETED, "deleted", DELETE_PARTS)
        )
        first = f"{counts.get(done.value, 0):,} of {_rows(total, 'number')} {verb}"
        start = ", ".join([first, *_parts(counts, parts)])
    else:
        verb, parts = {
            "validate": ("checked", VALIDATE_PARTS),
            "plan": ("planned", PLAN_PARTS),
            "apply": ("applied", APPLY_PARTS),
        }[mode]
        pruned = _parts(counts, PRUNED_PARTS[mode])
        rows = total - sum(counts.get(s.value, 0) for s, _ in PRUNED_PARTS[mode])
        start = f"{_rows(rows, 'row')} {verb}: " + (
            ", ".join(_parts(counts, parts)) or _nothing(mode)
        )
        if pruned:
            outside = sum(counts.get(s.value, 0) for s, _ in PRUNED_PARTS[mode])
            start += f"; {_rows(outside, 'number')} not in the sheet: {', '.join(pruned)}"
    sentence = f"{start}; {_attention(attention)}"
    if summary.stopped_reason:
        sentence += "; stopped before the end — see stopped reason"
    return sentence


def _parts(counts: Mapping[str, int], parts: Sequence[tuple[Status, str]]) -> list[str]:
    """`40 ready to register`, … for the statuses counted (none of those at zero)."""
    return [f"{counts[s.value]:,} {label}" for s, label in parts if counts.get(s.value, 0)]


def _nothing(mode: str) -> str:
    return {"validate": "none ready to register", "plan": "nothing to change"}.get(
        mode, "nothing changed"
    )


def _attention(count: int) -> str:
    if count == 0:
        return "nothing needs attention"
    return f"{count:,} {'needs' if count == 1 else 'need'} attention — see Errors"


def _rows(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _ended_well(name: str) -> bool:
    """An unknown count (not a status) is not taken to need attention."""
    try:
        return Status(name).ended_well
    except ValueError:
        return True
