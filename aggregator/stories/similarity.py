"""Evidence that two entries from different sources tell one story, and the fingerprints
that find the candidates in constant time.

Strong evidence only (docs/decisions.md, "One story once"): a look-alike network of
municipal newsrooms writes thousands of different stories from one template ("Leeds: the
city council funds a night bus network" / "Gdańsk: the city council funds language classes"),
so shared words, a shared city or a shared phrase bank never count. What counts:

- the same canonical link (plan.py);
- the same global id (a guid that is a URI: ``https://``, ``tag:``, ``urn:``) published by
  two sources;
- a republished text: the shorter title, folded, appears whole and in order inside the
  longer one (a partner may add "Via X:" or "| Partner"), AND the two openings are the same
  words for as far as the shorter one goes (a partner may trim the summary), over at least
  KEY_WORDS words.

Fingerprints are strings indexed by the store (``Store.by_fingerprint``): prefixes of the
opening (8, 16 or 32 words) marked with the opening's length class, and the global id. An
entry looks up one key per length class, the longest prefix the rule guarantees the two
openings share, so the lookup is complete for the rule (a property test checks it) and a
template opening meets only openings that agree as far as the rule will compare. Bucket
items carry a title signature, filtered before any entry is read; a lookup returns a bounded
number of entries, so its cost does not grow with the store.
"""

from __future__ import annotations

import bisect
import hashlib
import re
import sys
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from aggregator.config.taxonomy import fold
from aggregator.sanitize import plain_text

WINDOW = timedelta(days=7)  # a cross-post appears within a week of the original
OPENING_WORDS = 40  # how much of the text is compared
KEY_WORDS = 8  # the opening must agree on at least this many words
KEY_LENGTHS = (KEY_WORDS, 16, 32)  # opening prefixes indexed (longer ones outrun templates)
MIN_TITLE_WORDS = 3  # shorter titles ("Weekly news") must match whole, with a longer opening
MAX_TITLE_EXTRA = 6  # words a partner may add around the title ("Via Cities Alliance:")
MAX_CANDIDATES = 16  # entries one fingerprint lookup returns at most (nearest in time)
_KEY = re.compile(r"^(?:g|o\d+\.\d):")
_GLOBAL_ID = re.compile(r"^(https?://[^/\s]+/\S+|tag:\S+,\S+|urn:[a-z0-9-]+:\S+)$", re.I)


@dataclass(frozen=True)
class Text:
    """The compare-form of an entry: folded title words and opening words."""

    title: tuple[str, ...]
    opening: tuple[str, ...]
    title_bits: int = 0  # one of 64 bits per title word: containment is checked bitwise first


@dataclass(frozen=True)
class Evidence:
    """Why two texts are one republished story."""

    title_extra: int  # words one title adds around the other
    opening_words: int  # leading words of the openings that are identical

    @property
    def score(self) -> float:
        """1.0 for a full identical opening and title; lower when the copy was trimmed."""
        return round(min(self.opening_words, OPENING_WORDS) / OPENING_WORDS
                     * (1 - self.title_extra / (2 * MAX_TITLE_EXTRA + 2)), 2)

    def describe(self) -> str:
        extra = f", +{self.title_extra} title words" if self.title_extra else ""
        return (f"republished text ({self.score:.2f}): same title{extra}, first "
                f"{self.opening_words} words identical")


@lru_cache(maxsize=1 << 17)  # interned words: about 0.5 KB per cached entry
def text_of(title: str, html: str | None) -> Text:
    words = opening_words(plain_text(html or "", True))
    title_words = tuple(map(sys.intern, fold(title).split()))
    return Text(title_words, tuple(map(sys.intern, words)), title_signature(title))


def opening_words(text: str) -> list[str]:
    """The first OPENING_WORDS folded words of ``text``: the same as folding all of it,
    but only a prefix is folded (fold works character by character, and a prefix cut at
    a space folds into whole words), which is most of the cost on long articles."""
    size = OPENING_WORDS * 12
    while size < len(text):
        cut = text.rfind(" ", 0, size)
        words = fold(text[:cut]).split() if cut > 0 else []
        if len(words) >= OPENING_WORDS:
            return words[:OPENING_WORDS]
        size *= 2
    return fold(text).split()[:OPENING_WORDS]


@lru_cache(maxsize=1 << 17)
def title_signature(title: str) -> int:
    """One of 64 bits set per folded title word (a stable hash, so a store may keep it).

    One title can lie inside another only if its bits all lie inside the other's: buckets
    are filtered by signature before any entry is looked at."""
    bits = 0
    for word in fold(title).split():
        bits |= 1 << (zlib.crc32(word.encode("utf-8")) & 63)
    return bits


def may_share_title(a: int, b: int) -> bool:
    """Whether one signature's words may all be in the other's title (see title_signature)."""
    return not (a & ~b and b & ~a)


def republished(a: Text, b: Text) -> Evidence | None:
    """The evidence that ``a`` and ``b`` are the same text, or None."""
    if not may_share_title(a.title_bits, b.title_bits):
        return None  # neither title's words are all in the other: not one title
    extra = _title_extra(a.title, b.title)
    if extra is None:
        return None
    # The shorter opening may be trimmed mid-word: its last word is not compared.
    n = min(len(a.opening), len(b.opening))
    same = n if len(a.opening) == len(b.opening) else n - 1
    # A title of one or two words ("Carrot disclosure") must be the same, and the
    # opening twice as long, to count.
    short_title = min(len(a.title), len(b.title)) < MIN_TITLE_WORDS
    if same < KEY_WORDS * (2 if short_title else 1) or a.opening[:same] != b.opening[:same]:
        return None
    return Evidence(extra, same)


def _title_extra(a: tuple[str, ...], b: tuple[str, ...]) -> int | None:
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    extra = len(long) - len(short)
    if not short or extra > MAX_TITLE_EXTRA:
        return None
    if len(short) < MIN_TITLE_WORDS:
        return 0 if short == long else None
    for start in range(extra + 1):
        if long[start:start + len(short)] == short:
            return extra
    return None


@lru_cache(maxsize=65536)
def global_id(guid: str | None) -> str | None:
    """A guid two publishers can only share by republishing: an absolute URI."""
    if not guid or not _GLOBAL_ID.match(guid.strip()):
        return None
    return guid.strip()


def fingerprints(title: str, html: str | None, guid: str | None) -> tuple[str, ...]:
    """Index keys under which an entry is stored, for its copies to find it.

    An opening of class c (see _length_class) is stored under the first KEY_LENGTHS[m]
    words for each m up to c, marked with c: an entry of class x then looks only where the
    two openings must agree (KEY_LENGTHS[min(x, c)] words), so a long template opening is
    never compared with every other long opening that shares its first 8 words."""
    text = text_of(title, html)
    mine = _length_class(text) if fold(title) else 0
    out = [_opening_key(text, m, mine) for m in range(1, mine + 1)]
    return tuple(out + _id_key(guid))


def lookup_keys(title: str, html: str | None, guid: str | None) -> tuple[str, ...]:
    """The keys under which an entry's possible copies are stored (one per class)."""
    text = text_of(title, html)
    mine = _length_class(text) if fold(title) else 0
    out = [_opening_key(text, min(mine, theirs), theirs)
           for theirs in range(1, len(KEY_LENGTHS) + 1) if mine]
    return tuple(out + _id_key(guid))


def current(keys: list[str]) -> bool:
    """Whether stored keys are of this version's kinds (older stores are re-keyed on load)."""
    return all(_KEY.match(k) for k in keys)


def _length_class(text: Text) -> int:
    """0 below KEY_WORDS words; else the number of KEY_LENGTHS two openings of this length
    and any longer one must share (the shorter's last word is not compared: 17 words
    guarantee 16)."""
    n = len(text.opening)
    if n < KEY_WORDS:
        return 0
    return 1 + sum(n > k for k in KEY_LENGTHS[1:])


def _opening_key(text: Text, level: int, length_class: int) -> str:
    words = KEY_LENGTHS[level - 1]
    return f"o{words}.{length_class}:" + _digest(" ".join(text.opening[:words]))


def _id_key(guid: str | None) -> list[str]:
    gid = global_id(guid)
    return [] if gid is None else ["g:" + _digest(gid)]


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


Bucket = list[tuple[datetime, str, int]]  # (published, key, title signature), sorted


def bucket_item(published: datetime, key: str, title: str) -> tuple[datetime, str, int]:
    return published, key, title_signature(title)


def bucket_keys(bucket: Bucket, low: datetime, high: datetime, title_bits: int | None
                ) -> list[str]:
    """Keys of at most MAX_CANDIDATES bucket items published in [low, high] nearest its
    middle, oldest first; with ``title_bits``, only those whose title may be one with it."""
    start = bisect.bisect_left(bucket, (low, ""))
    end = bisect.bisect_right(bucket, (high, "\uffff"))
    start, end = nearest_middle(bucket, start, end, low + (high - low) / 2)
    return [key for _, key, bits in bucket[start:end]
            if title_bits is None or may_share_title(bits, title_bits)]


def nearest_middle(bucket: Bucket, start: int, end: int,
                   middle: datetime, limit: int = MAX_CANDIDATES) -> tuple[int, int]:
    """The slice of at most ``limit`` items of ``bucket[start:end]`` nearest ``middle``.

    A fingerprint bucket this full is a template shared by many stories; a copy of a story
    is published close to it, so the entries nearest its date (the middle of the window)
    suffice."""
    if end - start <= limit:
        return start, end
    low = high = bisect.bisect_left(bucket, (middle, ""), start, end)
    while high - low < limit:  # grow towards whichever side holds the nearer date
        if low > start and (high == end or middle - bucket[low - 1][0] <= bucket[high][0]
                            - middle):
            low -= 1
        else:
            high += 1
    return low, high
