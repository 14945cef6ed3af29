"""The corpus of bench/corpus.py: pinned sdists from PyPI, and their spreadsheet files.

Each sdist is fetched once into the cache (a folder outside git, by default
~/.cache/did-import-corpus) from PyPI's simple index, checked against its pinned
sha256, and the files with a spreadsheet or CSV extension are extracted beside it.
Everything is streamed to disk: the process that forks `validate` must stay small
(see `bench.corpus._wait`).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tarfile
import urllib.request
from pathlib import Path, PurePosixPath

INDEX = "https://pypi.org/simple"
DEFAULT_CACHE = Path.home() / ".cache" / "did-import-corpus"
# (package, version, sha256 of its sdist): pinned so that the counts are reproducible
SOURCES = (
    ("agate", "1.14.2", "7f29841c39d84b1de7fde762b8d792085371515324f3a01413b20f810398225b"),
    ("agate-excel", "0.4.2", "eed1dc6239f0e96720d962dc1bdfb4496e19687332c827fd8b1e587a917ea202"),
    ("csvkit", "2.2.0", "147318a8dbaec07c0bbb9291c14b78de5fa32ed3d4a5c2396e52a83c0a30df6b"),
    ("frictionless", "5.21.0", "4d9848570bc682943375824a4be7633e8bbdeff228affee763cab346e48000b4"),
    ("odfpy", "1.4.1", "db766a6e59c5103212f3cc92ec8dd50a0f3a02790233ed0b52148b70d3c438ec"),
    ("petl", "1.7.30", "9621fe7f9d81dafec3bf440496118ec1b288215400810a90f683a02c6d120792"),
    ("pyexcel", "0.7.6", "489483d8c7675a4d04d0a55a1b5dd0925771e2660fa68105ca342e492f459d1b"),
    ("pyexcel-io", "0.6.8", "c8831a7542b3da0bf5849afaecabd8e7524a1761ee88270ed24b5bc53649f533"),
    ("pyexcel-ods3", "0.6.1", "53740fc9bc6e91e43cdc0ee4f557bb3b252d8493d34f2c11d26a93c53cfebc2e"),
    ("pyexcel-xls", "0.7.1", "0e8c598dc840f9216507f1c16975c18b06e36df09acd79bda1a9de2f9cad0761"),
    ("pyexcel-xlsx", "0.6.1", "80b7985d394b73abf5c52212027bbbc0c7f6090192bcbc76403f8672d74c7960"),
    (
        "python-calamine",
        "0.9.1",
        "458094c3dd41bd330c0a43d20e23489964ba28b3301687f1c5acc03c81d06a9f",
    ),
    ("tablib", "3.10.0", "781cfa9a42de8f33c52aff857fd0a04e483de4fd1c53eaaa9a6aeac62bad11de"),
    ("xlsx2csv", "0.8.6", "618fc502612860de8ab8e3d6195e99ef332fffc68337f6b89e59690aad0d20b5"),
    ("xlsxwriter", "3.3.1", "0867761912cceac76f97ffa76eeda18c623ae9217f601be8512f55b1af4bdb6e"),
)
EXTENSIONS = {".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"}
# .txt only in these folders: elsewhere it is packaging metadata or prose
DATA_FOLDERS = {"test", "tests", "fixtures", "examples", "data", "resources", "files"}


def gather(cache: Path, sources: list[tuple[str, str, str]]) -> list[tuple[str, Path]]:
    """(package, extracted file) for every spreadsheet or CSV file of the pinned sdists."""
    found: list[tuple[str, Path]] = []
    for name, version, sha256 in sources:
        sdist = fetch_sdist(cache / "sdists", name, version, sha256)
        folder = cache / "files" / f"{name}-{version}"
        found += [(name, path) for path in extract(sdist, folder)]
    return found


def fetch_sdist(folder: Path, name: str, version: str, sha256: str) -> Path:
    """The sdist from the cache, else from PyPI's simple index; its sha256 checked."""
    folder.mkdir(parents=True, exist_ok=True)
    cached = [p for p in folder.glob("*.tar.gz") if _is_sdist_of(p.name, name, version)]
    if cached and _sha256(cached[0]) == sha256:
        return cached[0]
    with urllib.request.urlopen(f"{INDEX}/{name}/", timeout=60) as page:
        html = page.read().decode()
    links: list[str] = re.findall(r'href="([^"#]+\.tar\.gz)#sha256=' + sha256, html)
    if not links:
        raise SystemExit(f"corpus: no sdist of {name} {version} with sha256 {sha256} on PyPI")
    target = folder / links[0].rsplit("/", 1)[1]
    with urllib.request.urlopen(links[0], timeout=300) as response, target.open("wb") as out:
        shutil.copyfileobj(response, out)  # streamed: see `bench.corpus._wait`
    if _sha256(target) != sha256:
        raise SystemExit(f"corpus: {target.name}: sha256 differs from the pinned one")
    return target


def _is_sdist_of(filename: str, name: str, version: str) -> bool:
    normal = re.sub(r"[-_.]+", "-", filename.lower())
    return normal == f"{re.sub(r'[-_.]+', '-', name)}-{version.replace('.', '-')}-tar-gz"


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def wanted(member: str) -> bool:
    """A spreadsheet or CSV file; not packaging metadata; .txt only in data folders.

    A .txt named README, requirements or LICENSE is prose or a pip file, not a table.
    """
    path = PurePosixPath(member)
    if path.suffix.lower() not in EXTENSIONS or any(p.endswith(".egg-info") for p in path.parts):
        return False
    if path.suffix.lower() != ".txt":
        return True
    prose = path.name.lower().startswith(("readme", "requirements", "license"))
    return not prose and bool(DATA_FOLDERS & set(path.parts[:-1]))


def extract(sdist: Path, folder: Path) -> list[Path]:
    """The wanted regular files of `sdist`, extracted once under `folder`, sorted."""
    paths: list[Path] = []
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            if not member.isfile() or not wanted(member.name):
                continue
            target = folder / PurePosixPath(member.name).relative_to(member.name.split("/")[0])
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                source = archive.extractfile(member)
                assert source is not None
                with target.open("wb") as out:
                    shutil.copyfileobj(source, out)
            paths.append(target)
    return sorted(paths)
