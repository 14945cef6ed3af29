"""CSV text: the encoding, the delimiter, and the records, in one pass over the file.

Encoding: the one given (`--encoding`), else a BOM's (UTF-8, UTF-16 LE/BE: Excel's
"Unicode text"), else UTF-16 recognised by its NUL bytes, else strict UTF-8 falling back
to the single-byte code page `charset.guess_encoding` detects (or refuses to guess).
Bytes are decoded strictly as they are read; one that does not decode stops the load
with its byte offset, never replaced. The fallback is taken at the first byte that is
not UTF-8, provided everything before it was ASCII (the same text in every candidate);
a file that is UTF-8 for a while and then is not is refused rather than read in two
encodings. The detector samples the chunk being read from that byte on, so a UTF-8
file never pays for it.

The bytes are hashed (sha256) on the same pass, so a CSV file is read once. The first
lines (up to `SNIFF_CHARS` characters) are kept aside to find Excel's `sep=;` line and
to sniff the delimiter among `, ; tab |`, then parsing starts from the top.

Hostile text is refused before it can take the memory: no line is read whole beyond
`MAX_RECORD_CHARS`, a record (its lines together) may not exceed that either, nor have
more than `MAX_COLUMNS` cells (Excel's own limit); a field is limited by the csv
module (128 Ki characters). So a 200 MB file of one line costs 4 MiB, not gigabytes.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import BinaryIO, TextIO, cast

from importer.errors import ConfigError, UnreadableFileError
from importer.loader.charset import EncodingGuess, detection_sample, guess_encoding

CSV_DELIMITERS = ",;\t|"
SNIFF_CHARS = 64 * 1024
SNIFF_BYTES = 4096
STRAY_NULS = 2  # at most this many NULs in the first bytes: text with a stray NUL
SCAN_CHUNK = 1024 * 1024
MAX_RECORD_CHARS = 4 * 1024 * 1024
MAX_COLUMNS = 16_384

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_SEP_LINE = re.compile(r'^"?sep=(.)"?\s*$')

Records = Iterator[tuple[int, list[str]]]


@dataclass(frozen=True, slots=True)
class CsvDialect:
    """What was detected before parsing started."""

    encoding: str
    delimiter: str
    sep_line: bool


class DecodedBytes(io.BufferedIOBase):
    """The file's bytes decoded strictly and handed on as UTF-8, hashed on the way.

    `encoding` is the one in use (it changes once if the fallback from UTF-8 is taken,
    and `guess` then says how it was detected); `sha256` is set when the end of the
    file has been read.
    """

    def __init__(self, stream: BinaryIO, path: Path, encoding: str, *, fallback: bool) -> None:
        super().__init__()
        self.encoding = encoding
        self.guess: EncodingGuess | None = None
        self.sha256: str | None = None
        self._stream, self._path = stream, path
        self._decoder = codecs.getincrementaldecoder(encoding)("strict")
        self._fallback = fallback  # still allowed: everything so far was ASCII
        self._digest = hashlib.sha256()
        self._consumed = 0  # bytes handed to the decoder
        self._out = memoryview(b"")

    def readable(self) -> bool:
        """A readable stream (for `io.TextIOWrapper`)."""
        return True

    def close(self) -> None:
        """Close the file underneath too."""
        self._stream.close()
        super().close()

    def read1(self, size: int = -1) -> bytes:
        """Up to `size` bytes of UTF-8 text (one decoded chunk at most); b"" at the end."""
        while not self._out and self.sha256 is None:
            self._out = memoryview(self._next_chunk())
        end = len(self._out) if size is None or size < 0 else min(size, len(self._out))
        piece, self._out = self._out[:end], self._out[end:]
        return piece.tobytes()

    def read(self, size: int | None = -1) -> bytes:
        """Like `read1`, but reads to the end when `size` is negative."""
        if size is not None and size >= 0:
            return self.read1(size)
        return b"".join(iter(self.read1, b""))

    def _next_chunk(self) -> bytes:
        raw = self._stream.read(SCAN_CHUNK)
        self._digest.update(raw)
        start = self._consumed - len(self._decoder.getstate()[0])
        text = self._decode(raw, start, final=not raw)
        self._consumed += len(raw)
        if not raw:
            self.sha256 = self._digest.hexdigest()
        if self._fallback and not text.isascii():
            self._fallback = False
        return text.encode("utf-8", "surrogatepass")

    def _decode(self, raw: bytes, start: int, *, final: bool) -> str:
        """Decode `raw` (after the decoder's pending bytes, which start at offset `start`)."""
        pending = self._decoder.getstate()[0]
        try:
            return self._decoder.decode(raw, final=final)
        except UnicodeDecodeError as error:
            data, first = pending + raw, error.start
            if not (self._fallback and data[:first].isascii()):
                raise self._undecodable(start + first) from None
        except UnicodeError as error:  # "UTF-16 stream does not start with BOM"
            raise UnreadableFileError(
                f"{self._path}: cannot decode the file as {self.encoding} ({_flat(error)});"
                " give the right encoding with --encoding"
            ) from None
        sample = detection_sample(data, first)
        self.guess = guess_encoding(sample, str(self._path), start + first)
        self.encoding, self._fallback = self.guess.encoding, False
        self._decoder = codecs.getincrementaldecoder(self.encoding)("strict")
        try:
            return self._decoder.decode(data, final=final)
        except UnicodeDecodeError as error:
            raise self._undecodable(start + error.start) from None

    def _undecodable(self, offset: int) -> UnreadableFileError:
        return UnreadableFileError(
            f"{self._path}: cannot decode the file as {self.encoding} "
            f"(bad byte at offset {offset}); give the right encoding with --encoding"
        )


def _flat(error: Exception) -> str:
    """An exception's text on one line, control characters escaped (it may quote input)."""
    text = " ".join(str(error).split())[:120]
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


class CsvReader:
    """One CSV file read once: `dialect` first, then `records()`; `feed` has the end facts."""

    def __init__(self, path: Path, encoding: str | None, delimiter: str | None) -> None:
        self.path = path
        stream = path.open("rb")
        try:
            chosen, fallback = _choose_encoding(path, stream, encoding)
            self.feed = DecodedBytes(stream, path, chosen, fallback=fallback)
            # DecodedBytes is a buffered binary stream; typeshed's protocol wants more.
            buffer = cast(BinaryIO, self.feed)
            self._text: TextIO = io.TextIOWrapper(
                buffer, encoding="utf-8", errors="surrogatepass", newline=""
            )
            self._pending = 0  # characters read since the last complete record
            self._head = _first_lines(self._lines(), SNIFF_CHARS)
        except BaseException:
            stream.close()
            raise
        sample = "".join(self._head)[:SNIFF_CHARS]
        sep = sep_line(sample)
        self.dialect = CsvDialect(chosen, delimiter or sep or sniff_delimiter(sample), bool(sep))

    def records(self) -> Records:
        """(record number, cells) per CSV record; Excel hides a `sep=` line, so do we."""
        lines = chain(self._head[1:] if self.dialect.sep_line else self._head, self._lines())
        reader = csv.reader(lines, delimiter=self.dialect.delimiter)
        number = 0
        try:
            for number, cells in enumerate(reader, start=1):
                if len(cells) > MAX_COLUMNS:
                    raise self._refused(number, f"more than {MAX_COLUMNS:,} columns")
                self._pending = 0
                yield number, cells
        except csv.Error as error:
            raise UnreadableFileError(
                f"{self.path}: not a readable CSV file (record {number + 1}: {error})"
            ) from None
        finally:
            self._text.close()

    def close(self) -> None:
        """Close the file (also done when `records()` ends)."""
        self._text.close()

    def _lines(self) -> Iterator[str]:
        """The file's lines, none read whole past `MAX_RECORD_CHARS` (nor any record)."""
        read = self._text.readline
        while line := read(MAX_RECORD_CHARS + 1):
            self._pending += len(line)
            if self._pending > MAX_RECORD_CHARS:
                raise self._refused(None, f"a line longer than {MAX_RECORD_CHARS:,} characters")
            yield line

    def _refused(self, record: int | None, reason: str) -> UnreadableFileError:
        where = f"record {record}: " if record is not None else ""
        return UnreadableFileError(f"{self.path}: not a readable CSV file ({where}{reason})")


def _choose_encoding(path: Path, stream: BinaryIO, explicit: str | None) -> tuple[str, bool]:
    """(encoding, whether the fallback from UTF-8 is still open) from the first bytes."""
    if explicit is not None:
        try:
            info = codecs.lookup(explicit)
        except LookupError:
            raise ConfigError(f"unknown encoding {explicit!r}") from None
        if not getattr(info, "_is_text_encoding", True):  # hex, base64, rot13, zlib...
            raise ConfigError(f"{explicit!r} is not a text encoding")
        return explicit, False
    head = stream.read(SNIFF_BYTES)
    stream.seek(0)
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name, False
    if b"\x00" in head:
        return _utf16_without_bom(path, head), False
    return "utf-8", True


def _utf16_without_bom(path: Path, head: bytes) -> str:
    """Many NULs on one side of each byte pair mean UTF-16 without a BOM; else binary,
    or (at most `STRAY_NULS` of them) text with a stray NUL."""
    even, odd = head[0::2].count(0), head[1::2].count(0)
    plenty = len(head) // 8  # a quarter of one side: Latin text in UTF-16 has about half
    if odd > max(4 * even, plenty):
        return "utf-16-le"
    if even > max(4 * odd, plenty):
        return "utf-16-be"
    if head.count(0) > STRAY_NULS:
        raise UnreadableFileError(f"{path}: not a text or spreadsheet file (it has binary content)")
    raise UnreadableFileError(
        f"{path}: not a text file as it stands (a NUL byte at offset {head.index(0)}, which"
        " no CSV holds; remove it if the rest is text)"
    )


def _first_lines(lines: Iterator[str], size: int) -> list[str]:
    """Whole lines from the top until they hold `size` characters (or the file ends)."""
    head: list[str] = []
    held = 0
    while held < size and (line := next(lines, "")):
        head.append(line)
        held += len(line)
    return head


def sep_line(sample: str) -> str | None:
    """The delimiter named by Excel's `sep=;` first line, if the file has one."""
    first_line = sample.split("\n", 1)[0].rstrip("\r").lstrip("\ufeff")
    match = _SEP_LINE.match(first_line)
    return match.group(1) if match else None


def sniff_delimiter(sample: str) -> str:
    """The delimiter of a CSV sample among , ; tab |: sniffed, else the most frequent."""
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=CSV_DELIMITERS).delimiter
    except csv.Error:
        delimiter = ""
    if delimiter in CSV_DELIMITERS and delimiter:
        return delimiter
    first_line = next((line for line in sample.splitlines() if line.strip()), "")
    counts = {candidate: first_line.count(candidate) for candidate in CSV_DELIMITERS}
    best = max(counts, key=lambda candidate: counts[candidate])
    return best if counts[best] else ","
