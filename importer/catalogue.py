"""Every issue code did-import can report, collected from the stages that declare them.

Each stage declares its own codes beside the code that reports them: validation in
`importer/validate/catalogue.py`, the remote check in `importer/send/remote.py`, each
operation in its module under `importer/send/operations/`. A new operation adds its
codes to its own module and its module to `SOURCES`; nothing else changes. The README's
table of codes is `markdown_table()` (a test fails when the two drift apart).
"""

from __future__ import annotations

from types import ModuleType

from importer.models import IssueType
from importer.plan import planning
from importer.send import drift, remote
from importer.send.operations import change, messaging, register, replace, verify
from importer.validate import catalogue as validation

__all__ = ["CATALOGUE", "SOURCES", "markdown_table"]

SOURCES: tuple[ModuleType, ...] = (
    validation,
    remote,
    drift,
    planning,
    register,
    change,
    replace,
    verify,
    messaging,
)
"""The modules that declare issue codes, in the order the README lists them."""


def _collect(modules: tuple[ModuleType, ...]) -> dict[str, IssueType]:
    found: dict[str, IssueType] = {}
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, IssueType) and found.setdefault(value.code, value) is not value:
                raise RuntimeError(f"issue code {value.code} is declared twice")
    return found


CATALOGUE: dict[str, IssueType] = _collect(SOURCES)
"""Every code, by name."""


def markdown_table() -> str:
    """The catalogue as the Markdown table the README carries (checked by a test)."""
    lines = ["| code | severity | message | how to fix |", "|---|---|---|---|"]
    for issue_type in CATALOGUE.values():
        message = issue_type.template.replace("{", "<").replace("}", ">")
        hint = issue_type.hint or ""
        lines.append(f"| `{issue_type.code}` | {issue_type.severity} | {message} | {hint} |")
    return "\n".join(lines) + "\n"
