"""Resolving what a person calls a module ("module 3", "the last one", "the kickoff module") to an index."""

from __future__ import annotations

import re
from dataclasses import dataclass

from agent_runtime.errors import AgentRuntimeError

from ._text import significant

__all__ = ["NUMBER", "PLAYBOOK", "Numbering", "RefError", "resolve", "resolve_many"]

PLAYBOOK = -1
"""What :func:`resolve` returns for "the playbook"."""

ORDINALS = {
    "first": 1,
    "second": 2,
    "third": 3,
    "fourth": 4,
    "fifth": 5,
    "sixth": 6,
    "seventh": 7,
    "eighth": 8,
    "ninth": 9,
    "tenth": 10,
    "eleventh": 11,
    "twelfth": 12,
    "thirteenth": 13,
    "fourteenth": 14,
    "fifteenth": 15,
    "sixteenth": 16,
    "seventeenth": 17,
    "eighteenth": 18,
    "nineteenth": 19,
    "twentieth": 20,
}
NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
}
NUMBER = r"(?:#?\d{1,3}|" + "|".join(NUMBERS) + ")"
_NUM_REF = re.compile(
    r"^(?:module|section|stage|step|item|part|number|no\.?|#)\s*#?\s*(?P<n>" + NUMBER + r")$"
)
_ORD_REF = re.compile(r"^(?P<n>\d{1,3})(?:st|nd|rd|th)$")
_FILLER = re.compile(
    r"\b(?:the|this|that|a|an|module|modules|section|sections|stage|one|called|named|titled|about|"
    r"please|from|of|outline|list|on|in|entire|whole)\b",
)
_LAST = re.compile(r"^(?:very\s+)?(?:last|final|bottom|end|latest)$")
_PENULTIMATE = re.compile(r"^(?:second[- ]to[- ]last|second[- ]last|penultimate|next[- ]to[- ]last)$")


class RefError(AgentRuntimeError, ValueError):
    """A reference that names no module, with a message for the person."""


@dataclass
class Numbering:
    """Module numbers as the person saw them when they wrote the message.

    ``origin[i]`` is the original (zero-based) position of the module now at ``i``, or ``None`` for
    a module added since. So "remove module 1 and rename module 2" renames the module that *was*
    number 2.
    """

    origin: list[int | None]
    original_count: int

    @classmethod
    def identity(cls, count: int) -> Numbering:
        """The numbering of an untouched outline of ``count`` modules."""
        return cls(list(range(count)), count)


def _number(token: str) -> int:
    token = token.lstrip("#")
    return int(token) if token.isdigit() else NUMBERS[token]


def resolve(
    ref: str, titles: list[str], *, allow_playbook: bool = True, numbering: Numbering | None = None
) -> int:
    """Resolve a reference to a zero-based module index (or :data:`PLAYBOOK`).

    Args:
        ref: What the person wrote, e.g. "module 3", "the second module", "the last one",
            "the security review module", "the playbook".
        titles: The current module titles, in order.
        allow_playbook: Whether "the playbook" is an acceptable answer.
        numbering: How numbers map to current positions; numbers ("module 3", "the third module")
            then refer to what the person saw, while "first"/"last" stay positional.

    Returns:
        The index, or :data:`PLAYBOOK`.

    Raises:
        RefError: The reference names nothing (or a number out of range).
    """
    text = " ".join(re.sub(r"[\"'“”‘’.!?,:;()]", " ", ref.lower()).split())
    count = len(titles)
    if allow_playbook and re.fullmatch(r"(?:the |this |our |my |whole |entire )*(?:playbook|it|title)", text):
        return PLAYBOOK
    match = _NUM_REF.match(text) or _ORD_REF.match(text.replace("the ", "").replace(" module", "").strip())
    if match:
        return _numbered(_number(match.group("n")), count, numbering)
    core = " ".join(_FILLER.sub(" ", text).split())
    if _LAST.match(core):
        return _in_range(count, count)
    if _PENULTIMATE.match(core):
        return _in_range(count - 1, count)
    if core == "first":
        return _in_range(1, count)
    if core in ORDINALS:
        return _numbered(ORDINALS[core], count, numbering)
    if core.isdigit() or core in NUMBERS:
        return _numbered(_number(core), count, numbering)
    if not core:
        raise RefError(f'I couldn\'t tell which module "{ref.strip()}" means.')
    return _by_title(core, ref, titles)


def _in_range(number: int, count: int) -> int:
    if not 1 <= number <= count:
        raise RefError(f"There's no module {number} — the playbook has {count} module{'s' * (count != 1)}.")
    return number - 1


def _numbered(number: int, count: int, numbering: Numbering | None) -> int:
    """The current index of the module the person numbered ``number`` (1-based)."""
    if numbering is None:
        return _in_range(number, count)
    _in_range(number, numbering.original_count)
    if (number - 1) in numbering.origin:
        return numbering.origin.index(number - 1)
    raise RefError(f"Module {number} was already removed.")


def _by_title(core: str, ref: str, titles: list[str]) -> int:
    lowered = [t.lower() for t in titles]
    if core in lowered:
        return lowered.index(core)
    contains = [
        i
        for i, t in enumerate(lowered)
        if len(core) > 2 and re.search(r"\b" + re.escape(core) + r"\b", t) or (len(t) > 3 and t in core)
    ]
    if len(contains) == 1:
        return contains[0]
    wanted = significant(core)
    scores = [len(wanted & significant(t)) for t in titles]
    best = max(scores, default=0)
    if best * 2 > len(wanted) and scores.count(best) == 1:
        return scores.index(best)
    raise RefError(f'I couldn\'t find a module matching "{ref.strip()}".')


def resolve_many(text: str, titles: list[str], numbering: Numbering | None = None) -> list[int]:
    """Resolve a list of references: "modules 2 and 3", "2-4", "the first two modules", "the kickoff".

    Raises:
        RefError: Any part names nothing.
    """
    text = " ".join(text.lower().split())
    span = re.search(r"\b(first|last)\s+(" + NUMBER + r")\s+modules?\b", text)
    if span:
        n = min(_number(span.group(2)), len(titles))
        return list(range(n)) if span.group(1) == "first" else list(range(len(titles) - n, len(titles)))
    text = re.sub(r"\bmodules\b", "module", text)
    numbers = re.fullmatch(r"(?:the\s+)?module\s+(.+)", text)
    if numbers and re.fullmatch(r"[#\d\s,&\-–]+|[#\d\s,&]+(?:and|to|through)[#\d\s]+", numbers.group(1)):
        return _number_list(numbers.group(1), len(titles), numbering)
    out: list[int] = []
    for part in re.split(r"\s*(?:,|&|\band\b)\s*", text):
        if part.strip():
            index = resolve(
                part if not part.strip().isdigit() else f"module {part}",
                titles,
                allow_playbook=False,
                numbering=numbering,
            )
            if index not in out:
                out.append(index)
    return out


def _number_list(text: str, count: int, numbering: Numbering | None) -> list[int]:
    out: list[int] = []
    for part in re.split(r"\s*(?:,|&|\band\b)\s*", text):
        bounds = re.split(r"\s*(?:-|–|\bto\b|\bthrough\b)\s*", part.strip())
        if len(bounds) == 2 and all(b.lstrip("#").isdigit() for b in bounds):
            first, last = (_number(b) for b in bounds)
            for number in range(first, last + 1):
                index = _numbered(number, count, numbering)
                if index not in out:
                    out.append(index)
        elif part.strip():
            index = _numbered(_number(part.strip()), count, numbering)
            if index not in out:
                out.append(index)
    return out
