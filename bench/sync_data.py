"""The account-in-step scenario of issue 16, as files: an account and the sheet to match.

The account holds `accounts` numbers (capabilities 3, callback A, a name each), made by
`run` of `account.csv`. The sheet `sheet.csv` keeps all but the last `removed` of them,
moves the callback of the first `callbacks` to B, the capabilities of the next
`capabilities` to 27, and adds `new` numbers. So `plan --prune --allow-replace` must
count exactly `callbacks` would_update, `capabilities` would_replace, `new`
would_register and `removed` would_delete (`expected()`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bench.campaign import number

HEADER = "Phone Number,Capabilities,Callback URL,Name"
CALLBACK_A = "https://a.example.com/sms"
CALLBACK_B = "https://b.example.com/sms"


@dataclass(frozen=True)
class Scenario:
    """The sizes of the scenario (issue 16's figures by default)."""

    accounts: int = 5_000
    callbacks: int = 1_000
    capabilities: int = 300
    new: int = 500
    removed: int = 400

    def account_line(self, i: int) -> str:
        return f"+{number(i)},3,{CALLBACK_A},Number {i}"

    def sheet_line(self, i: int) -> str:
        if i < self.callbacks:
            return f"+{number(i)},3,{CALLBACK_B},Number {i}"
        if i < self.callbacks + self.capabilities:
            return f"+{number(i)},27,{CALLBACK_A},Number {i}"
        return self.account_line(i)

    def write(self, folder: Path) -> tuple[Path, Path]:
        """`account.csv` and `sheet.csv` in `folder`."""
        account = folder / "account.csv"
        lines = [self.account_line(i) for i in range(self.accounts)]
        account.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
        kept = range(self.accounts - self.removed)
        added = range(self.accounts, self.accounts + self.new)
        sheet = folder / "sheet.csv"
        lines = [self.sheet_line(i) for i in [*kept, *added]]
        sheet.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
        return account, sheet

    def expected(self) -> dict[str, int]:
        """The plan's counts."""
        unchanged = self.accounts - self.removed - self.callbacks - self.capabilities
        return {
            "unchanged": unchanged,
            "would_update": self.callbacks,
            "would_replace": self.capabilities,
            "would_register": self.new,
            "would_delete": self.removed,
        }

    def wanted(self) -> dict[str, tuple[int, str, str]]:
        """number → (capabilities, callback, name) the account must hold after apply."""
        kept = range(self.accounts - self.removed)
        added = range(self.accounts, self.accounts + self.new)
        out = {}
        for i in [*kept, *added]:
            _, caps, callback, name = self.sheet_line(i).split(",")
            out[number(i)] = (int(caps), callback, name)
        return out
