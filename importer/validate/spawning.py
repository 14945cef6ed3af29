"""Worker processes started with `spawn` that do not run the caller's script again.

`spawn` imports the parent's `__main__` in each child. A script that calls
`validate_file` or `run_import` without an `if __name__ == "__main__":` guard would
then run again in the child, and fail there. The tool's workers need nothing from
`__main__`, so while they start it is an empty module (`main_module_hidden`).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType


@contextmanager
def main_module_hidden() -> Iterator[None]:
    """Inside: `sys.modules["__main__"]` is an empty module (start spawned workers here)."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main
