"""What the scalable-oversight protocols share: the answers in dispute, what the judge may read, its verdict.

Debate, consultancy and the direct judge (``adversarial.py``, ``consultancy.py``,
``direct.py``) ask one question: can a judge who cannot read the evidence pick
the right answer, and does it do better with two debaters than with one
consultant, or alone? For the comparison to be fair every protocol puts the
same two answers before the judge, the correct one and a distractor, in the
same order. This module derives them from the item, per debate and
deterministically, so the generic runner needs nothing protocol-specific.

Items follow the QuALITY format agreed in ``debate.datasets``: ``question`` is
the question followed by lines ``A. option``; ``gold`` a letter;
``metadata["options"]`` the option texts and ``metadata["question_text"]`` the
bare question. Numeric items (GSM8K) have no options. Metadata keys read here,
all optional:

- ``options``, ``question_text``: as above (else parsed from ``question``);
- ``disputed_answers``: the two answers in dispute, in debater order; overrides
  everything below (use it for items without a gold answer);
- ``distractor``: the wrong answer to dispute (e.g. QuALITY's best distractor);
  by default one is drawn from the other options, or, for numbers, a near miss;
- ``item_id``: seeds the per-item draws (else the question text), so the same
  item gets the same sides under every protocol and scenario.

Evidence is whatever the scenario shows the debaters and hides from the judge
(``Scenario.context_visibility``); quotes are checked against it.
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from debate.agents.prompting import quote_untrusted
from debate.answers import AnswerParser, normalize_number, safe_parse
from debate.graph import DebateRuntime, DebateState
from debate.messages import Message, MessageKind, Role
from debate.quotes import mark_quotes
from debate.scenario import Scenario

_OPTION_LINE = re.compile(r"^\s*([A-Z])[.)]\s+(.+?)\s*$", re.MULTILINE)
_ANSWER_LINE = re.compile(
    r"^[\s*_#>\-]*(?:final\s+)?answer\s*\**\s*[:=]\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE
)
_CONFIDENCE_LINE = re.compile(
    r"^[\s*_#>\-]*(?:confidence|probability)\s*\**\s*[:=]\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE
)
_LEADING_LETTER = re.compile(r"\(?([A-Za-z])\)?(?=[\s.,:;)]|$)")
_PROBABILITY = re.compile(r"(\d+(?:\.\d+)?|\.\d+)\s*(%?)")


# -- the item: options, question, the answers in dispute ----------------------------


def answer_options(state: DebateState) -> dict[str, str]:
    """Letter -> option text, from ``metadata["options"]`` or the ``A. option`` lines of the question."""
    options = (state.get("metadata") or {}).get("options")
    if options:
        return {letter: str(text) for letter, text in zip(string.ascii_uppercase, options, strict=False)}
    parsed: dict[str, str] = {}
    for match in _OPTION_LINE.finditer(state["question"]):
        if match.group(1) != string.ascii_uppercase[len(parsed)]:
            break  # options run A, B, C, ... without gaps
        parsed[match.group(1)] = match.group(2)
    return parsed if len(parsed) >= 2 else {}


def question_text(state: DebateState) -> str:
    """The question without its option lines (the judge sees only the two answers in dispute)."""
    bare = (state.get("metadata") or {}).get("question_text")
    if bare:
        return str(bare)
    question = state["question"]
    first_option = _OPTION_LINE.search(question)
    if first_option and answer_options(state):
        return question[: first_option.start()].strip()
    return question


def item_coin(state: DebateState, purpose: str) -> bool:
    """A fair coin per item and purpose: the same item lands the same way in every run and scenario."""
    return _item_draw(state, purpose, 2) == 1


def _item_draw(state: DebateState, purpose: str, count: int) -> int:
    """A uniform draw in ``range(count)`` from a hash of the item (its id, else its question) and the purpose."""
    key = str((state.get("metadata") or {}).get("item_id") or state["question"])
    return int.from_bytes(hashlib.sha256(f"{purpose}\n{key}".encode()).digest()[:8], "big") % count


def disputed_answers(state: DebateState, parser: AnswerParser) -> tuple[str, str]:
    """The two answers in dispute, in the order debaters get them and the judge sees them.

    The correct answer and a distractor; which comes first is a coin flip per
    item, so the correct answer is not always defended by the first speaker.
    """
    metadata = state.get("metadata") or {}
    options = answer_options(state)
    explicit = metadata.get("disputed_answers")
    if explicit is not None:
        if not isinstance(explicit, Sequence) or isinstance(explicit, str) or len(explicit) != 2:
            raise ValueError(f"metadata['disputed_answers']: expected two answers, got {explicit!r}")
        first, second = (
            _normalized(str(answer), parser, options, "metadata['disputed_answers']") for answer in explicit
        )
        if first == second:
            raise ValueError(f"metadata['disputed_answers']: the two answers must differ, got {explicit!r}")
        return first, second
    gold = state.get("gold")
    if gold is None:
        raise ValueError(
            "gold: this protocol sets the correct answer against a distractor, so the item needs a gold answer "
            "(or metadata['disputed_answers'] = [answer_1, answer_2])"
        )
    correct = _normalized(gold, parser, options, "gold")
    wrong = _distractor(state, correct, options, parser)
    return (wrong, correct) if item_coin(state, "order") else (correct, wrong)


def consultant_answer(state: DebateState, parser: AnswerParser) -> str:
    """The answer the consultant argues for: the correct one on half the items, the distractor on the others."""
    answers = disputed_answers(state, parser)
    honest = item_coin(state, "consultant honest")
    gold = state.get("gold")
    correct = _normalized(gold, parser, answer_options(state), "gold") if gold is not None else None
    if correct in answers:
        wrong = answers[1] if answers[0] == correct else answers[0]
        return correct if honest else wrong
    return answers[0] if honest else answers[1]


def describe(answer: str, options: Mapping[str, str]) -> str:
    """How an answer is shown: ``(C) option text`` for a choice, the answer itself otherwise."""
    return f"({answer}) {options[answer]}" if answer in options else answer


def answers_block(answers: Sequence[str], options: Mapping[str, str]) -> str:
    return "\n".join(describe(answer, options) for answer in answers)


def _normalized(answer: str, parser: AnswerParser, options: Mapping[str, str], field: str) -> str:
    parsed = safe_parse(parser, answer).answer or answer.strip()
    if options and parsed not in options:
        raise ValueError(f"{field}: {answer!r} is not one of the options {sorted(options)}")
    return parsed


def _distractor(state: DebateState, correct: str, options: Mapping[str, str], parser: AnswerParser) -> str:
    explicit = (state.get("metadata") or {}).get("distractor")
    if explicit is not None:
        wrong = _normalized(str(explicit), parser, options, "metadata['distractor']")
        if wrong == correct:
            raise ValueError(f"metadata['distractor']: {explicit!r} is the gold answer; give a wrong answer")
        return wrong
    if options:
        others = [letter for letter in options if letter != correct]
        if not others:
            raise ValueError(
                f"metadata['options']: only the gold answer {correct!r} is an option; nothing to dispute"
            )
        return others[_item_draw(state, "distractor", len(others))]
    misses = _near_misses(correct)
    if not misses:
        raise ValueError(
            f"metadata['distractor']: gold {correct!r} is neither an option letter nor a number, "
            "so no distractor can be derived; give one"
        )
    return misses[_item_draw(state, "distractor", len(misses))]


def _near_misses(gold: str) -> list[str]:
    """Plausible wrong numbers, as slips in a worked solution produce them (off by one, doubled, halved, x10)."""
    try:
        value = float(gold)
    except ValueError:
        return []
    candidates = (value + 1, value - 1, value * 2, value / 2, value + 10, value * 10)
    misses = {normalize_number(repr(candidate)) for candidate in candidates}
    return sorted(miss for miss in misses if miss is not None and miss != normalize_number(gold))


# -- what the judge may read --------------------------------------------------------


def evidence_texts(runtime: DebateRuntime, state: DebateState) -> list[str]:
    """The context the debaters see and the judge does not (else all the debaters see): what quotes are checked against."""
    context = state.get("context") or {}
    scenario = runtime.scenario
    shown = {field: text for field, text in context.items() if scenario.sees(Role.DEBATER, field)}
    hidden = [text for field, text in shown.items() if not scenario.sees(Role.JUDGE, field)]
    return hidden or list(shown.values())


def render_transcript(messages: Sequence[Message], evidence: Sequence[str] | None) -> str:
    """Each turn quoted and delimited as untrusted text; with ``evidence``, quotes re-tagged as verified or not."""
    if not messages:
        return "(nothing yet)"
    turns = []
    for message in messages:
        text = mark_quotes(message.text, evidence).text if evidence is not None else message.text
        turns.append(quote_untrusted(text, agent=message.author, round=str(message.round)))
    return "\n".join(turns)


def spoken(state: DebateState, *kinds: MessageKind) -> list[Message]:
    return [message for message in state["messages"] if message.kind in kinds]


# -- the verdict --------------------------------------------------------------------


class Verdict(BaseModel):
    """The judge's verdict, read from the judge's own output only.

    ``answer`` comes from the last ``Answer: …`` line, ``confidence`` (the
    probability that ``answer`` is right) from the last ``Confidence: …`` line.
    ``error`` says what could not be read; it can be set while ``answer`` is
    present (an answer with an unreadable probability).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    answer: str | None = None
    confidence: float | None = None
    error: str | None = None


def parse_verdict(
    text: str,
    parser: AnswerParser,
    allowed: Sequence[str] | None = None,
    options: Mapping[str, str] | None = None,
) -> Verdict:
    """Read a verdict; never raises. ``allowed`` restricts the answer (the two in dispute)."""
    problems: list[str] = []
    answer = _verdict_answer(text, parser, allowed, options or {}, problems)
    confidence = _verdict_confidence(text, problems)
    return Verdict(answer=answer, confidence=confidence, error="; ".join(problems) or None)


def _verdict_answer(
    text: str,
    parser: AnswerParser,
    allowed: Sequence[str] | None,
    options: Mapping[str, str],
    problems: list[str],
) -> str | None:
    lines = _ANSWER_LINE.findall(text)
    if not lines:
        problems.append("no 'Answer: ...' line in the judge's output")
        return None
    raw = lines[-1].strip("*_ ").strip()
    answer = _option_letter(raw, options) if options else safe_parse(parser, raw).answer
    if answer is None:
        problems.append(f"could not read an answer from {raw!r}")
        return None
    if allowed is not None and answer not in allowed:
        problems.append(f"answer {answer!r} is not one of the answers in dispute {list(allowed)}")
        return None
    return answer


def _option_letter(raw: str, options: Mapping[str, str]) -> str | None:
    """``B``, ``(B)``, ``B. text`` or the option's text: the letter comes first, unlike in free-form answers."""
    leading = _LEADING_LETTER.match(raw)
    if leading and leading.group(1).upper() in options:
        return leading.group(1).upper()
    by_text = {text.casefold().strip(" ."): letter for letter, text in options.items()}
    return by_text.get(raw.casefold().strip(" ."))


def _verdict_confidence(text: str, problems: list[str]) -> float | None:
    lines = _CONFIDENCE_LINE.findall(text)
    if not lines:
        problems.append("no 'Confidence: <probability>' line in the judge's output")
        return None
    number = _PROBABILITY.search(lines[-1])
    if number is None:
        problems.append(f"could not read a probability from {lines[-1]!r}")
        return None
    value = float(number.group(1))
    if number.group(2) or value > 1:
        value /= 100
    if not 0.0 <= value <= 1.0:
        problems.append(f"confidence {lines[-1]!r} is not a probability")
        return None
    return value


async def judge_verdict(
    runtime: DebateRuntime,
    state: DebateState,
    *,
    template: str,
    allowed: Sequence[str],
    responds_to: Sequence[str] = (),
    **values: Any,
) -> dict[str, Any]:
    """Ask the judge for its verdict; its parsed answer is the debate's final answer (None if unreadable)."""
    judge = runtime.scenario.judge
    assert judge is not None  # the protocols that call this declare needs_judge
    message = await runtime.speak(
        judge,
        state,
        kind=MessageKind.VERDICT,
        user_prompt=runtime.prompt(judge, template, state, **values),
        responds_to=responds_to,
        visible_to=[judge.name],
        parse_answer=False,
    )
    verdict = parse_verdict(message.text, runtime.parser, allowed, answer_options(state))
    message = message.model_copy(
        update={"answer": verdict.answer, "confidence": verdict.confidence, "parse_error": verdict.error}
    )
    return {"messages": [message], "final_answer": verdict.answer, "stop_reason": "max_rounds"}


# -- rounds and scenario checks -------------------------------------------------------


def end_round(state: DebateState, rounds: int) -> dict[str, Any]:
    """Next round, or mark the last one done (the judge decides next)."""
    round_ = state.get("round", 0)
    return {"round": round_ + 1} if round_ + 1 < rounds else {"stop_reason": "max_rounds"}


def require_oversight_setup(scenario: Scenario, protocol: str, *, debaters: int) -> None:
    """The oversight protocols run every round, then take the judge's verdict as the answer."""
    names = [debater.name for debater in scenario.debaters]
    if debaters == 0 and names:
        raise ValueError(
            f"agents: under protocol {protocol!r} the judge answers alone; remove the debaters {names}"
        )
    if len(names) != debaters:
        raise ValueError(f"agents: protocol {protocol!r} needs exactly {debaters} debater(s), got {names}")
    others = [agent.name for agent in scenario.agents if agent.role is not Role.DEBATER]
    if others:
        raise ValueError(f"agents: protocol {protocol!r} uses debaters and a judge only; remove {others}")
    if scenario.stop != "fixed":
        raise ValueError(
            f"stop: protocol {protocol!r} runs every round, then asks the judge; set stop='fixed' (got {scenario.stop!r})"
        )
    if scenario.aggregate not in (None, "judge"):
        raise ValueError(
            f"aggregate: under protocol {protocol!r} the judge's verdict is the answer; "
            f"leave aggregate unset or 'judge' (got {scenario.aggregate!r})"
        )
