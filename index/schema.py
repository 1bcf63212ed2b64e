"""What the index holds: its fields, how text is analysed, and the documents a recording
becomes (each sentence, and passages of consecutive sentences, :mod:`index.passages`).

Two Whoosh indexes share one directory: the sentences' (with the words for "did you mean"),
and the passages' (with their sentences stored), searched only when the sentences do not fill
a page.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.analysis import BiWordFilter, StemmingAnalyzer
from whoosh.analysis.filters import STOP_WORDS
from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.lang.porter2 import stem as english_stem

from index.passages import build_passages
from library.models import Publish, Recording, Segment, searchable_visibility

# Whoosh's stop list is for written English; speech is full of fillers that match everywhere.
SPEECH_STOP_WORDS = frozenset(STOP_WORDS) | {
    "um", "uh", "erm", "er", "ah", "oh", "hmm", "mm", "yeah", "yes", "okay", "ok", "so",
    "like", "just", "really", "actually", "basically", "literally", "gonna", "wanna",
    "kinda", "sorta", "i", "i'm", "it's", "that's", "there's", "was", "were", "what", "about",
    "said", "they", "he", "she", "our", "my", "me", "them", "do", "did", "does", "going",
}  # fmt: skip
PAIR = " "  # between the two words of a `pairs` term


# Beside the index files: the [library] publish its documents' visibility was made under.
PUBLISH_FILE = "publish.txt"


def built_for(directory: Path) -> Publish:
    """The publish setting the index in ``directory`` was built under; an index without the
    file was built before the setting existed, as "immediately"."""
    try:
        return Publish((directory / PUBLISH_FILE).read_text(encoding="utf-8").strip())
    except (FileNotFoundError, ValueError):
        return Publish.IMMEDIATELY


def schema(passages: bool = False) -> Schema:
    """Sentences (with the spelling words), or passages (with their sentences stored)."""
    # The passage's sentences, [[start, end, text, speaker], ...] ("cues": the stored name).
    extra = {"cues": STORED()} if passages else {}
    return Schema(
        **extra,
        doc_id=ID(unique=True),
        recording_id=ID(stored=True, sortable=True),  # a column: per-document lookup
        position=NUMERIC(stored=True),
        title=STORED(),
        event=STORED(),
        event_key=ID(),
        visibility=ID(stored=True),
        speakers=STORED(),
        speaker_key=KEYWORD(commas=True, lowercase=True),
        tags=STORED(),
        tag_key=KEYWORD(commas=True, lowercase=True),
        speaker=STORED(),  # the sentence's own speaker label, "" when it has none
        recorded=NUMERIC(stored=True, sortable=True),  # date.toordinal(); 0 when unknown
        start=STORED(),
        end=STORED(),
        # Words without their positions: a posting is a document and a count, which keeps
        # the lists of words said everywhere quick to read. Phrases are found by `pairs`.
        text=TEXT(
            analyzer=analyzer(),
            stored=True,
            phrase=False,
            spelling=not passages,  # the unstemmed words, for "did you mean"
        ),
        # Each two words said one after the other (stop words left out, as in `text`):
        # "human learning systems" is a sentence with "human learn" and "learn system".
        pairs=TEXT(analyzer=analyzer() | PairFilter(PAIR), phrase=False),
    )


class PairFilter(BiWordFilter):  # type: ignore[misc]
    """Whoosh's BiWordFilter, which fails on a text with no words left after the stop words
    ("Yeah. So."): such a text has no pairs."""

    def __call__(self, tokens: Iterable[Any]) -> Iterator[Any]:
        tokens = iter(tokens)
        for first in tokens:
            yield from super().__call__(itertools.chain([first], tokens))


# A word, as Whoosh's RegexTokenizer finds words by default ("3.5", "it's" -> "it", "s").
WORD = re.compile(r"[\w\*]+(\.?[\w\*]+)*")
# Shorter words are stop words (Whoosh's StopFilter default).
MIN_WORD = 2


def analyzer() -> Any:
    # Porter2 (Snowball English): "letting" -> "let", where Porter gives "lett".
    return StemmingAnalyzer(
        expression=WORD, stemfn=english_stem, stoplist=SPEECH_STOP_WORDS, minsize=MIN_WORD
    )


@functools.lru_cache(maxsize=50_000)
def term_of(word: str) -> str | None:
    """The index term of one word as :func:`analyzer` finds it, lowercased and stemmed; None
    for a stop word, which is not indexed."""
    word = word.lower()
    if len(word) < MIN_WORD or word in SPEECH_STOP_WORDS:
        return None
    return str(english_stem(word))


def index_terms(text: str) -> list[str]:
    """The terms :func:`analyzer` makes of ``text``, in order, without Whoosh's token objects
    (a fifth of the time; tests/test_index.py compares the two)."""
    return [term for word in WORD.finditer(text) if (term := term_of(word.group()))]


PASSAGES = "passages"  # the passages' index, beside the sentences' in the same directory


def open_index(directory: Path, passages: bool) -> Any:
    name = PASSAGES if passages else "MAIN"
    if whoosh_index.exists_in(str(directory), indexname=name):
        return whoosh_index.open_dir(str(directory), indexname=name)
    return whoosh_index.create_in(str(directory), schema(passages), indexname=name)


def index_key(value: str) -> str:
    """Event and speaker names as filters compare them."""
    return " ".join(value.lower().split())


def documents(
    recording: Recording,
    segments: Sequence[Segment],
    passages: bool = False,
    publish: Publish = Publish.IMMEDIATELY,
) -> Iterable[dict[str, Any]]:
    """The sentences' documents, or with ``passages`` the passages'. Their visibility is the
    one searches filter on: an unpublished transcript's is private (``searchable_visibility``)."""
    meta = recording.meta
    common = {
        "recording_id": recording.id,
        "title": meta.title,
        "event": meta.event,
        "event_key": index_key(meta.event),
        "visibility": searchable_visibility(recording, publish).value,
        "speakers": list(meta.speakers),
        "speaker_key": ",".join(index_key(s) for s in meta.speakers),
        "tags": list(meta.tags),
        "tag_key": ",".join(index_key(t) for t in meta.tags),
        "recorded": meta.recorded_on.toordinal() if meta.recorded_on else 0,
    }
    if not passages:
        for position, segment in enumerate(segments):
            yield common | {
                "doc_id": f"{recording.id}/c{position}",
                "position": position,
                "start": segment.start,
                "end": segment.end,
                "speaker": segment.speaker,
                "text": segment.text,
                "pairs": segment.text,
            }
        return
    for passage in build_passages(segments):
        cues = segments[passage.first : passage.last + 1]
        yield common | {
            "doc_id": f"{recording.id}/p{passage.first}",
            "position": passage.first,
            "start": passage.start,
            "end": passage.end,
            "cues": [[c.start, c.end, c.text, c.speaker] for c in cues],
            "text": (text := " ".join(c.text.strip() for c in cues)),
            "pairs": text,
        }
