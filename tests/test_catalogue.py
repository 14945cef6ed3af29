"""The issue catalogue: stable codes, and the README's table generated from it."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from importer import catalogue
from importer.catalogue import CATALOGUE, SOURCES
from importer.models import IssueType

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
    """No IssueType declared by a stage escapes the catalogue (codes are unique)."""
    defined = [v for m in SOURCES for v in vars(m).values() if isinstance(v, IssueType)]
    assert len(defined) == len(CATALOGUE)


def test_every_module_declaring_codes_is_a_source() -> None:
    """A module under importer/ that declares IssueTypes is listed in SOURCES."""
    import importlib
    import pkgutil

    import importer

    declaring = set()
    for info in pkgutil.walk_packages(importer.__path__, "importer."):
        if ".sandbox" in info.name or info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        if any(type(v) is IssueType for k, v in vars(module).items() if k.isupper()):
            declaring.add(module.__name__)
    assert declaring == {m.__name__ for m in SOURCES}


def test_readme_table_matches_catalogue() -> None:
    """The README's catalogue section is exactly what `markdown_table()` generates."""
    text = README.read_text(encoding="utf-8")
    section = text.split(BEGIN, 1)[1].split(END, 1)[0]
    assert section.strip() == catalogue.markdown_table().strip(), (
        "README catalogue is stale: paste catalogue.markdown_table() between the markers"
    )
