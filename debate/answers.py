"""Answer parsers: turn model text into a comparable answer, or say why not.

Parsing never raises into a debate. Unparseable text yields
``ParsedAnswer(answer=None, reason=...)`` and the message counts as an
abstention in votes and consensus checks.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Protocol

from pydantic import AfterValidator


@dataclass(frozen=True)
class ParsedAnswer:
    answer: str | None
    reason: str | None = None
    confidence: float | None = None


class AnswerParser(Protocol):
    """Parses one model output. ``instruction`` tells the model how to format its answer."""

    name: str
    instruction: str

    def __call__(self, text: str) -> ParsedAnswer: ...


_CONFIDENCE = re.compile(r"confidence\s*[:=]\s*(\d+(?:\.\d+)?)\s*(%?)", re.IGNORECASE)
_NUMBER = r"-?\$?\s*\d[\d,]*(?:\.\d+)?(?:\s*/\s*\d+(?!\d|[.,]\d))?"


def parse_confidence(text: str) -> float | None:
    """Read ``Confidence: 0.8`` or ``Confidence: 80%``; values above 1 are read as percentages."""
    match = _CONFIDENCE.search(text)
    if not match:
        return None
    value = float(match.group(1))
    if match.group(2) or value > 1:
        value /= 100
    return value if 0.0 <= value <= 1.0 else None


_PRIVATE_CONFIDENCE = re.compile(
    r"^[ \t*_]*private confidence[ \t*_]*[:=][ \t*_]*(\d+(?:\.\d+)?)[ \t]*(%?)[ \t*_.]*$\n?",
    re.IGNORECASE | re.MULTILINE,
)


def split_private_confidence(text: str) -> tuple[str, float | None]:
    """The text without its ``Private confidence: N%`` lines, and the last one's value (0-1; above 1: percent).

    Every such line is cut, so no peer or judge reads one, whatever the value says.
    """
    values = [
        parse_confidence(f"confidence: {value}{percent}")
        for value, percent in _PRIVATE_CONFIDENCE.findall(text)
    ]
    return _PRIVATE_CONFIDENCE.sub("", text).rstrip(), values[-1] if values else None


def normalize_number(raw: str) -> str | None:
    """``"$1,200.00"`` and ``"1200"`` compare equal, as do ``"1/4"`` and ``"0.25"``; returns None for non-numbers."""
    cleaned = raw.replace(",", "").replace("$", "").replace(" ", "").rstrip(".")
    numerator, slash, denominator = cleaned.partition("/")
    try:
        value = float(numerator) / float(denominator) if slash else float(cleaned)
    except (ValueError, ZeroDivisionError):
        return None
    if value != value or value in (float("inf"), float("-inf")):
        return None
    if value == int(value):
        return str(int(value))
    return repr(round(value, 6)).rstrip("0").rstrip(".")


class NumberAnswer:
    """Numeric answers as in GSM8K: ``#### 42``, ``\\boxed{42}``, ``answer is 42``, else the last number."""

    name = "number"
    instruction = (
        "End your response with the final numeric answer on its own line, in the form '#### <number>'."
    )

    _MARKED = (
        re.compile(r"####\s*(" + _NUMBER + ")"),
        re.compile(r"\\boxed\{\s*(" + _NUMBER + r")\s*\}"),
        re.compile(r"answer\s*(?:is|:)\s*(" + _NUMBER + ")", re.IGNORECASE),
    )
    _ANY = re.compile(_NUMBER)

    def __call__(self, text: str) -> ParsedAnswer:
        confidence = parse_confidence(text)
        without_confidence = _CONFIDENCE.sub("", text)
        for pattern in self._MARKED:
            matches = pattern.findall(without_confidence)
            if matches:
                value = normalize_number(matches[-1])
                if value is not None:
                    return ParsedAnswer(value, confidence=confidence)
        numbers = self._ANY.findall(without_confidence)
        for raw in reversed(numbers):
            value = normalize_number(raw)
            if value is not None:
                return ParsedAnswer(value, confidence=confidence)
        return ParsedAnswer(None, reason="no number found in the response", confidence=confidence)


class ChoiceAnswer:
    """A multiple-choice letter: ``Answer: B``, ``(B)``, ``\\boxed{B}``."""

    name = "choice"

    def __init__(self, letters: str = "ABCD") -> None:
        self.letters = letters
        cls = f"[{letters}{letters.lower()}]"
        self._patterns = (
            re.compile(r"answer\s*(?:is|:)\s*\(?(" + cls + r")\b\)?", re.IGNORECASE),
            re.compile(r"\\boxed\{\s*(" + cls + r")\s*\}"),
            re.compile(r"\((" + cls + r")\)"),
            re.compile(r"(?:^|\s)([" + letters + r"])(?:[\s.,)]|$)"),
        )
        self.instruction = (
            f"End your response with 'Answer: <letter>' where the letter is one of {', '.join(letters)}."
        )

    def __call__(self, text: str) -> ParsedAnswer:
        confidence = parse_confidence(text)
        for pattern in self._patterns:
            matches = pattern.findall(text)
            if matches:
                return ParsedAnswer(matches[-1].upper(), confidence=confidence)
        return ParsedAnswer(None, reason=f"no choice among {self.letters} found", confidence=confidence)


def default_text_normalizer(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"[^\w\s]", " ", text)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


class TextAnswer:
    """Free text after ``Answer:`` (or the last non-empty line), normalised so that equal answers compare equal."""

    name = "text"
    instruction = "End your response with a line of the form 'Answer: <your answer>'."
    _MARKED = re.compile(r"answer\s*:\s*(.+)", re.IGNORECASE)

    def __init__(self, normalizer: Callable[[str], str] = default_text_normalizer) -> None:
        self.normalizer = normalizer

    def __call__(self, text: str) -> ParsedAnswer:
        confidence = parse_confidence(text)
        matches = self._MARKED.findall(text)
        lines = [line for line in text.splitlines() if line.strip()]
        raw = matches[-1] if matches else (lines[-1] if lines else "")
        value = self.normalizer(raw)
        if not value:
            return ParsedAnswer(None, reason="empty answer", confidence=confidence)
        return ParsedAnswer(value, confidence=confidence)


class FunctionAnswer:
    """Wraps a user function ``text -> answer | None``; exceptions become parse failures, never crashes."""

    name = "function"

    def __init__(self, function: Callable[[str], str | None], instruction: str = "") -> None:
        self.function = function
        self.instruction = instruction

    def __call__(self, text: str) -> ParsedAnswer:
        confidence = parse_confidence(text)
        try:
            value = self.function(text)
        except Exception as error:  # noqa: BLE001 - a user parser must never crash a debate
            return ParsedAnswer(None, reason=f"answer function raised {type(error).__name__}: {error}")
        if value is None or str(value).strip() == "":
            return ParsedAnswer(None, reason="answer function returned nothing", confidence=confidence)
        return ParsedAnswer(str(value), confidence=confidence)


BUILTIN_PARSERS: dict[str, Callable[[], AnswerParser]] = {
    "number": NumberAnswer,
    "choice": ChoiceAnswer,
    "text": TextAnswer,
}


def builtin_answer_format(name: str) -> str:
    """``name`` if it names a built-in parser, else a ``ValueError`` listing them."""
    if name not in BUILTIN_PARSERS:
        raise ValueError(f"unknown answer format {name!r}; valid: {sorted(BUILTIN_PARSERS)}")
    return name


AnswerFormat = Annotated[str, AfterValidator(builtin_answer_format)]
"""A settings field naming a built-in answer parser (``number``, ``choice``, ``text``), checked on load."""


def answer_parser(spec: str | AnswerParser | Callable[[str], str | None]) -> AnswerParser:
    """Resolve ``"number"``, ``"choice"``, ``"text"``, a parser object or a plain function."""
    if isinstance(spec, str):
        if spec not in BUILTIN_PARSERS:
            raise ValueError(
                f"unknown answer parser {spec!r}; valid: {sorted(BUILTIN_PARSERS)} or a function"
            )
        return BUILTIN_PARSERS[spec]()
    if hasattr(spec, "instruction") and hasattr(spec, "name"):
        return spec  # type: ignore[return-value]
    if callable(spec):
        return FunctionAnswer(spec)
    raise ValueError(f"answer must be a parser name, a parser or a function, not {type(spec).__name__}")


def safe_parse(parser: AnswerParser, text: str) -> ParsedAnswer:
    """Run any parser without letting it raise."""
    try:
        return parser(text)
    except Exception as error:  # noqa: BLE001
        return ParsedAnswer(None, reason=f"parser {parser.name!r} raised {type(error).__name__}: {error}")
