"""Pure query understanding: what a person typed -> phrases and words to look for.

The query is never handed to a query-language parser, so no input can be a syntax error:
quotes mark phrases (an unmatched quote is ignored), operators and punctuation a person did
not mean (``AND``, ``-``, ``:``, ``*``) are plain text, and question framing is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Leading question framing: "what was said about X", "who talked about X", "is there anything
# on X", "when did someone mention X". What follows is the topic.
_FRAMING = re.compile(
    r"""^\s*(?:
        (?:what|who|when|where|how)\s+
        (?:(?:was|were|is|are|did|does|do|has|have|had)\s+)?
        (?:(?:anyone|anybody|someone|somebody|people|they|speakers?|he|she|we|you|it)\s+)?
        (?:said|say|says|saying|talk(?:ed|s|ing)?|spoke|speak(?:s|ing)?|mention(?:ed|s)?
           |discuss(?:ed|es)?|sa(?:y|id)\s+anything)
        (?:\s+(?:about|on|of|regarding))?
      | (?:is|was)\s+there\s+(?:anything|something)\s+(?:on|about|regarding)
      | (?:anything|something)\s+(?:on|about|regarding)
      | tell\s+me\s+about
    )\s+""",
    re.IGNORECASE | re.VERBOSE,
)
_PHRASE = re.compile(r'"([^"]*)"')
# A word: letters or digits, with inner apostrophes or hyphens ("don't", "follow-up").
_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")


@dataclass(frozen=True)
class ParsedQuery:
    phrases: tuple[tuple[str, ...], ...]  # each: words that must appear in this order
    words: tuple[str, ...]

    @property
    def is_empty(self) -> bool:
        return not self.phrases and not self.words


def _words(text: str) -> tuple[str, ...]:
    return tuple(m.group(0).lower().replace("’", "'") for m in _WORD.finditer(text))


def parse_query(text: str) -> ParsedQuery:
    text = text.strip()
    framed = _FRAMING.sub("", text, count=1)
    if _words(framed):
        text = framed
    if text.count('"') % 2:
        text = text.replace('"', " ")  # an unmatched quote: no phrases, just words
    phrases: list[tuple[str, ...]] = []
    for match in _PHRASE.finditer(text):
        words = _words(match.group(1))
        if len(words) > 1:
            phrases.append(words)
    rest = _PHRASE.sub(lambda m: " " if len(_words(m.group(1))) > 1 else m.group(1), text)
    return ParsedQuery(tuple(phrases), _words(rest))


def with_corrections(parsed: ParsedQuery, fixes: dict[str, str]) -> str:
    """The query as words again, misspelled ones replaced: what "Did you mean" shows."""
    parts = [f'"{" ".join(fixes.get(w, w) for w in phrase)}"' for phrase in parsed.phrases]
    parts += [fixes.get(w, w) for w in parsed.words]
    return " ".join(parts)
