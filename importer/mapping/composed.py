"""Fields composed from several columns: capability flags and attribute columns.

- capabilities from flag columns (`SMS`, `MMS`, `SMS In`, `SMS Out`, `MMS In`,
  `MMS Out`) holding yes/no, y/n, x, true/false, 1/0 or a tick: the flags become
  capability names (`sms+mms_in`) for validation to check like a capabilities cell;
- attributes from `attributes.<key>` columns: a JSON object, merged over the JSON of an
  `attributes` column when there is one (a column wins on the same key).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

from importer.mapping.aliases import header_key

# Capability flag columns: header key -> the capability name it switches on.
FLAG_COLUMNS: Mapping[str, str] = {
    "sms": "sms",
    "mms": "mms",
    "smsin": "sms_in",
    "smsout": "sms_out",
    "mmsin": "mms_in",
    "mmsout": "mms_out",
}
FLAG_YES = frozenset({"yes", "y", "x", "true", "1", "on", "\u2713", "\u2714", "\u2611"})
FLAG_NO = frozenset({"no", "n", "false", "0", "off", "-"})
_ATTRIBUTE_COLUMN = re.compile(r"\s*(?:attributes|attribute|attrs)\s*\.\s*(\S.*?)\s*", re.I)


def cell(cells: Sequence[str], index: int) -> str:
    """The stripped text of a cell, "" past the end of a short row."""
    return cells[index].strip() if index < len(cells) else ""


def flags_text(header: Sequence[str], flags: Mapping[int, str], cells: Sequence[str]) -> str:
    """Flag cells -> capability names joined by `+`; "0" when every flag says no.

    An unreadable flag comes out as `Header=cell`, which validation reports as not a mask.
    """
    names: list[str] = []
    answered = False
    for index, name in flags.items():
        text = cell(cells, index)
        answer = text.casefold()
        if answer in FLAG_YES:
            names.append(name)
        elif answer and answer not in FLAG_NO:
            return f"{header[index].strip()}={text}"
        answered = answered or bool(answer)
    if names:
        return "+".join(names)
    return "0" if answered else ""


def attributes_text(json_cell: str, columns: Mapping[str, int], cells: Sequence[str]) -> str:
    """The attributes JSON object: the JSON cell's keys, then each non-empty column."""
    given = {key: cell(cells, index) for key, index in columns.items()}
    given = {key: value for key, value in given.items() if value}
    if not json_cell:
        return json.dumps(given, ensure_ascii=False) if given else ""
    try:
        base = json.loads(json_cell)
    except (ValueError, RecursionError):
        return json_cell  # left as written, for validation to report
    if not isinstance(base, dict) or not given:
        return json_cell
    return json.dumps(base | given, ensure_ascii=False)


def flag_columns(header: Sequence[str], taken: set[int]) -> dict[int, str]:
    """Column -> capability name, for each capability flag column not otherwise used."""
    return {
        index: FLAG_COLUMNS[header_key(text)]
        for index, text in enumerate(header)
        if index not in taken and header_key(text) in FLAG_COLUMNS
    }


def attribute_columns(header: Sequence[str], taken: set[int]) -> dict[str, int]:
    """Attribute key -> column, for each `attributes.<key>` column not otherwise used."""
    found: dict[str, int] = {}
    for index, text in enumerate(header):
        match = _ATTRIBUTE_COLUMN.fullmatch(text)
        if match and index not in taken:
            found.setdefault(match.group(1), index)
    return found
