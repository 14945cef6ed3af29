"""The issue catalogue: stable codes, and the README's table generated from it."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from importer.validate import catalogue
from importer.validate.catalogue import CATALOGUE, IssueType

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN, END = "<!-- catalogue:begin -->", "<!-- catalogue:end -->"


@pytest.mark.parametrize("issue_type", CATALOGUE.values(), ids=list(CATALOGUE))
def test_codes_are_dotted_lower_case(issue_type: IssueType) -> None:
    """Every code is `area.name`, lower case, as scripts rely on."""
    assert re.fullmatch(r"[a-z0-9_]+\.[a-z0-9_]+", issue_type.code)


@pytest.mark.parametrize("issue_type", CATALOGUE.values(), ids=list(CATALOGUE))
def test_templates_render_with_their_own_fields(issue_type: IssueType) -> None:
    """Each message template renders once its named fields are given."""
    names = {name for _, name, _, _ in string.Formatter().parse(issue_type.template) if name}
    issue = issue_type.issue(value="v", **dict.fromkeys(names - {"value"}, "x"))
    assert issue.code == issue_type.code
    assert "{" not in issue.message


def test_catalogue_holds_every_module_level_issue_type() -> None:
    """No IssueType defined in the module escapes the catalogue (codes are unique)."""
    defined = [v for v in vars(catalogue).values() if isinstance(v, IssueType)]
    assert len(defined) == len(CATALOGUE)


def test_readme_table_matches_catalogue() -> None:
    """The README's catalogue section is exactly what `markdown_table()` generates."""
    text = README.read_text(encoding="utf-8")
    section = text.split(BEGIN, 1)[1].split(END, 1)[0]
    assert section.strip() == catalogue.markdown_table().strip(), (
        "README catalogue is stale: paste catalogue.markdown_table() between the markers"
    )
