"""Which single-byte encoding a CSV file that is not UTF-8 is in, and how sure that is.

charset-normalizer reads a bounded sample in each candidate code page and measures each
reading's *mess* (letters of two scripts in one word, runs of accented capitals: Greek
read as cp1252 gives `Ëåùíéäáò`) and *coherence* (how well its letter frequencies
match a language). Its candidates are the code pages Excel and older systems write
for European scripts (`CANDIDATES`); readings that give the same text are one reading,
ranked least messy first, then most coherent. The choice:

- the script is the first reading's (the Latin code pages are one script);
- within it, the reading with the most letters among its non-ASCII characters wins
  (ISO-8859-7 reads byte B6 as `Ά` where cp1253 has `¶`; cp1250 reads A3 as `Ł`
  where cp1252 has `£`), then cp1252 (Excel's Windows default); the readings of the
  script that tie are named as alternatives (cp1252 and cp1254 differ on a few
  letters only, which no detector tells apart);
- `confidence` says how far the first reading in *another* script (the rival) is
  behind: the larger of `1 - mess / rival's mess` and `coherence - rival's
  coherence` (1.0 when no other script reads the sample at all, 0.0 when one reads
  it as cleanly and as coherently: a few accented letters alone say nothing);
- below `SURE_CONFIDENCE`, or when every reading is messy, the file is refused with
  each reading of the first non-ASCII text, so that `--encoding` can be chosen;
- a sample the detector measures no reading of, of at most `SHORT_SAMPLE` non-ASCII
  bytes (a lone `©`), is read when every candidate that decodes it reads the same text
  (confidence 1.0: nothing to choose), and refused with each reading otherwise.

A byte some candidate leaves undefined (0x81, 0x90, ...) is taken out of the sample
before it is measured: a stray one must not rule out the right code page and leave the
choice to one that defines every byte (a Western file read as Arabic). The decoding
itself stays strict, so such a byte is then refused with its offset.

The sample is the lines holding non-ASCII bytes, from the first of them, up to
`SAMPLE_BYTES`: all-ASCII lines read alike in every candidate and only dilute the
measure. Only a file that is not UTF-8 is ever sampled; UTF-8 files never get here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import version

from importer.errors import UnreadableFileError

DETECTOR = "charset-normalizer"
SAMPLE_BYTES = 64 * 1024
SURE_CONFIDENCE = 0.2
MAX_MESS = 0.15  # charset-normalizer's mess ratio of the chosen reading, at most
COHERENCE_MARGIN = 0.2  # a reading this much less coherent is no alternative
SHORT_SAMPLE = 3  # non-ASCII bytes at most: too few for the detector to measure
DEFAULT_ENCODING = "cp1252"
CANDIDATES: Mapping[str, str] = {
    "cp1252": "Western",
    "cp1250": "Central European",
    "cp1254": "Turkish",
    "cp1257": "Baltic",
    "cp1251": "Cyrillic",
    "koi8_r": "Cyrillic",
    "cp1253": "Greek",
    "iso8859_7": "Greek",
    "cp1256": "Arabic",
}
"""Candidate code page -> the script family it writes (what the summary says). Hebrew
(cp1255) is left out: it leaves undefined the bytes of `ü`, `ß` and more in cp1252."""
_LATIN = frozenset({"Western", "Central European", "Turkish", "Baltic"})
_SHOWN_CHARS = 24


@dataclass(frozen=True, slots=True)
class EncodingGuess:
    """The detector's choice for a file that is not UTF-8."""

    encoding: str
    language: str  # the script family of `CANDIDATES`
    confidence: float
    sample_bytes: int
    alternatives: tuple[str, ...] = ()  # Latin code pages that read the sample as cleanly

    def describe(self) -> str:
        """One line for the Summary sheet, the JSON summary and the terminal."""
        also = f"; {', '.join(self.alternatives)} would also fit" if self.alternatives else ""
        return (
            f"{self.encoding} ({self.language}), detected by {DETECTOR} {version(DETECTOR)}"
            f" from {self.sample_bytes:,} bytes of non-ASCII lines,"
            f" {self.confidence:.0%} sure{also}"
        )


@dataclass(frozen=True, slots=True)
class _Reading:
    encodings: tuple[str, ...]  # the candidates that decode the sample to the same text
    mess: float
    coherence: float
    letters: int  # non-ASCII characters read as letters

    @property
    def language(self) -> str:
        return CANDIDATES[self.encodings[0]]

    @property
    def script(self) -> str:
        """The script the reading is in: the Latin code pages are one."""
        return "Latin" if self.language in _LATIN else self.language

    @property
    def encoding(self) -> str:
        """The name to read it with: cp1252 when it is one of them."""
        return DEFAULT_ENCODING if DEFAULT_ENCODING in self.encodings else self.encodings[0]


def detection_sample(data: bytes, first: int) -> bytes:
    """The lines of `data` holding non-ASCII bytes, from the one with byte `first`,
    up to `SAMPLE_BYTES` (the first line whole, cut at that size)."""
    start = data.rfind(b"\n", 0, first) + 1
    kept: list[bytes] = []
    held = 0
    for line in data[start:].split(b"\n"):
        if held >= SAMPLE_BYTES:
            break
        if not line.isascii():
            kept.append(line[: SAMPLE_BYTES - held])
            held += len(kept[-1]) + 1
    return b"\n".join(kept)


def guess_encoding(sample: bytes, where: str, offset: int) -> EncodingGuess:
    """The encoding of `sample` (non-ASCII, not UTF-8); refused when unclear.

    `where` (the file's name) starts the refusal, and `offset` (of the first byte that
    is not UTF-8, the sample's first non-ASCII byte) is named in it.
    """
    readings = _readings(sample.translate(None, _UNDEFINED))
    not_utf8 = f"{where}: the file is not UTF-8 (byte {_first_byte(sample)} at offset {offset})"
    if not readings and sum(byte > 127 for byte in sample) <= SHORT_SAMPLE:
        return _decoded_alike(sample, not_utf8)
    if not readings:
        raise UnreadableFileError(
            f"{not_utf8} and no known code page reads it; give the right encoding with --encoding"
        )
    best = readings[0]
    rival = next((r for r in readings if r.script != best.script), None)
    confidence = _confidence(best, rival)
    chosen = _chosen(readings)
    if confidence < SURE_CONFIDENCE or best.mess > MAX_MESS:
        raise _unsure(not_utf8, sample, [chosen, *(r for r in readings if r is not chosen)])
    alternatives = tuple(
        r.encoding
        for r in readings
        if r is not chosen
        and r.script == chosen.script
        and r.letters == chosen.letters
        and r.coherence >= chosen.coherence - COHERENCE_MARGIN
    )
    encoding = chosen.encoding
    return EncodingGuess(
        encoding, CANDIDATES[encoding], round(confidence, 2), len(sample), alternatives
    )


def _decoded_alike(sample: bytes, not_utf8: str) -> EncodingGuess:
    """The detector measured no reading of a short sample (often a lone `©`): the
    candidates that decode it, when they all read it alike (nothing to choose), else
    refused, showing each distinct reading."""
    texts: dict[str, list[str]] = {}
    for encoding in sorted(CANDIDATES, key=lambda name: name != DEFAULT_ENCODING):
        try:
            texts.setdefault(sample.decode(encoding), []).append(encoding)
        except UnicodeDecodeError:
            continue
    if not texts:
        raise UnreadableFileError(
            f"{not_utf8} and no known code page reads it; give the right encoding with --encoding"
        )
    readings = [_Reading(tuple(names), 1.0, 0.0, 0) for names in texts.values()]
    if len(readings) > 1:
        raise _unsure(not_utf8, sample, readings)
    encoding = readings[0].encoding
    return EncodingGuess(encoding, CANDIDATES[encoding], 1.0, len(sample))


def _readings(sample: bytes) -> list[_Reading]:
    """The candidates' distinct readings of `sample`, least messy first (detector order)."""
    from charset_normalizer import from_bytes  # only files that are not UTF-8 pay for it

    if sample.isascii():
        return []

    found = from_bytes(
        sample,
        steps=1,
        chunk_size=max(len(sample), 1),
        cp_isolation=list(CANDIDATES),
        preemptive_behaviour=False,
        enable_fallback=False,
    )
    readings = []
    for match in found:
        encodings = tuple(e for e in match.could_be_from_charset if e in CANDIDATES)
        if encodings:
            letters = sum(1 for char in str(match) if not char.isascii() and char.isalpha())
            readings.append(_Reading(encodings, match.chaos, match.coherence, letters))
    return readings


def _undefined_bytes() -> bytes:
    """The bytes some candidate code page cannot decode."""

    def defined(byte: int, encoding: str) -> bool:
        try:
            bytes((byte,)).decode(encoding)
        except UnicodeDecodeError:
            return False
        return True

    return bytes(b for b in range(128, 256) if not all(defined(b, c) for c in CANDIDATES))


_UNDEFINED = _undefined_bytes()


def _chosen(readings: Sequence[_Reading]) -> _Reading:
    """In the least messy reading's script: the most letters, then cp1252 (Excel's)."""
    script = readings[0].script
    same = [reading for reading in readings if reading.script == script]
    return max(same, key=lambda r: (r.letters, DEFAULT_ENCODING in r.encodings))


def _confidence(best: _Reading, rival: _Reading | None) -> float:
    """How far `rival` is behind `best` (see the module's docstring), from 0 to 1."""
    if rival is None:
        return 1.0
    by_mess = 1.0 - best.mess / rival.mess if rival.mess > best.mess else 0.0
    return min(1.0, max(by_mess, best.coherence - rival.coherence))


def _first_byte(sample: bytes) -> str:
    """The sample's first non-ASCII byte, as `0xE9`."""
    return next(f"0x{byte:02X}" for byte in sample if byte > 127)


def _unsure(not_utf8: str, sample: bytes, readings: Sequence[_Reading]) -> UnreadableFileError:
    """The refusal: the first non-ASCII text as each reading has it."""
    line = sample.split(b"\n", 1)[0].rstrip(b"\r")
    first = next(index for index, byte in enumerate(line) if byte > 127)
    piece = line[max(0, first - 8) : first + _SHOWN_CHARS]
    shown = "; ".join(
        f"{r.encoding} reads {piece.decode(r.encoding, 'replace')!r}" for r in readings[:4]
    )
    return UnreadableFileError(
        f"{not_utf8} and its encoding is unclear ({shown}); give the right one with --encoding"
    )
