"""Small text helpers shared by the offline planner: words, title case, clipping, phrases."""

from __future__ import annotations

import re

from agent_runtime.contract import Limits

SMALL_WORDS = frozenset("a an and as at but by for from in into of on or per the to vs via with".split())
STOP_WORDS = SMALL_WORDS | frozenset(
    "our my your their its this that these those we i me us you it is are be been new "
    "module modules section one some all any each every please playbook process".split()
)
_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
_ACRONYMS = frozenset(
    {"qbr", "hr", "sla", "kpi", "crm", "gtm", "soc", "rfp", "qa", "nda", "sso", "poc", "faq"}
)


def words(text: str) -> list[str]:
    """Lower-case words of ``text`` (hyphenated words kept whole)."""
    return _WORD.findall(text.lower())


def stem(word: str) -> str:
    """A crude stem good enough to match "reviews" with "review" and "onboarding" with "onboard"."""
    for suffix in ("ing", "ies", "es", "ed", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


def significant(text: str) -> set[str]:
    """Stems of the words of ``text`` that carry meaning (no stop words, no one-letter words)."""
    return {stem(w) for w in words(text) if w not in STOP_WORDS and len(w) > 1}


def clip(text: str, limit: int = Limits.MAX_TITLE_CHARS) -> str:
    """Collapse whitespace and cut ``text`` to ``limit`` characters at a word boundary."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:-") + "…"


def title_case(text: str) -> str:
    """Title-case a phrase: small words lower (except first), acronyms and mixed case kept."""
    out = []
    for i, word in enumerate(text.split()):
        lower = word.lower()
        if word != lower and word != word.capitalize():
            out.append(word)  # already has deliberate casing: SOC2, iPhone, QBR
        elif lower in _ACRONYMS:
            out.append(lower.upper())
        elif i > 0 and lower in SMALL_WORDS:
            out.append(lower)
        else:
            out.append("-".join(part[:1].upper() + part[1:] for part in lower.split("-")))
    return " ".join(out)


def lower_first(text: str) -> str:
    """``text`` with its first letter lower-cased unless it starts an acronym."""
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


_LEAD = re.compile(
    r"^(?:(?:and|then|finally|also|plus|next|first|lastly|last|after that|afterwards|including|"
    r"include|includes|with|a|an|the|some|our|my|their|your|to|do|doing|having|have|get|"
    r"please|maybe|\d+[.)]|[-*•])\s+)+",
    re.IGNORECASE,
)
_SPLIT = re.compile(
    r"\s*(?:[,;:\n•]|\s-\s|\.\s|\.$|\bthen\b|\band then\b|\band\b|\bwith\b|\bplus\b|"
    r"\bincluding\b|\bfollowed by\b|\bafter that\b)\s*",
    re.IGNORECASE,
)


def split_phrases(text: str) -> list[str]:
    """Split free text into short phrases (commas, "and", "then", "with", bullets, semicolons)."""
    phrases = []
    for raw in _SPLIT.split(text):
        phrase = _LEAD.sub("", raw.strip(" .!?\"'()[]")).strip(" .!?\"'()[]")
        if phrase and any(w not in STOP_WORDS for w in words(phrase)):
            phrases.append(phrase)
    return phrases


def phrase_title(phrase: str, max_words: int = 8) -> str:
    """A module title from a phrase: leading filler removed, at most ``max_words``, title case."""
    phrase = _LEAD.sub("", phrase.strip()).strip(" .!?\"'")
    return clip(title_case(" ".join(phrase.split()[:max_words])), 80)


def new_title(text: str) -> str:
    """A module or playbook title from the words of an edit (quotes, "please" and the like removed)."""
    text = text.strip().strip("\"'“”‘’ .!?")
    text = re.sub(r"\s+(?:please|instead|for me|thanks)$", "", text, flags=re.IGNORECASE).strip("\"'“”‘’ .!?")
    if text == text.lower():
        text = title_case(text)
    return clip(text)
