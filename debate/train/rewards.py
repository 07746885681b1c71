"""GRPO rewards: DTE's reward set, adapted to the framework's ``#### <number>`` answer line.

DTE (``dte/training/reward_model.py``) scores each sampled completion with
five functions, for answers in ``<reasoning>...</reasoning><answer>...</answer>``
tags. Here the answer format is the one every debater is asked for (``####``
then the number on its own last line), so the tags become that line:

============== ==================================================== ===================
reward         scores 1.0 (partial credit for ``marker_count``)     DTE counterpart
============== ==================================================== ===================
consensus      the parsed answer equals the debate's consensus      correctness
               (the row's ``answer``: no gold answer involved)
numeric        the text after the last ``####`` is a number         int
strict_format  reasoning, then exactly one final ``#### <number>``  strict format
               line and nothing after it
soft_format    a ``#### <number>`` somewhere                        soft format
marker_count   0.25 each: one ``####``, at a line start, after      XML tag count
               some reasoning, followed by a number; minus 0.002
               per character after the answer line
============== ==================================================== ===================

Each function returns values in [0, 1] (``marker_count`` may go below 0,
as DTE's does) and the weights carry DTE's magnitudes (``RewardWeights``:
2.0 for consensus, 0.5 for each format reward), so a perfect completion
scores 4.0. The functions follow TRL's reward signature: keyword arguments
``completions`` (conversational or plain), dataset columns (``answer``), and
anything else TRL passes, ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from debate.answers import answer_parser, normalize_number, safe_parse
from debate.train.config import RewardWeights

RewardFunction = Callable[..., list[float]]

MARKER = "####"
_NUMBER = r"-?\$?\s*\d[\d,]*(?:\.\d+)?"
_ANSWER_LINE = re.compile(r"^####[ \t]*(" + _NUMBER + r")[ \t]*$", re.MULTILINE)
_ANYWHERE = re.compile(r"####\s*" + _NUMBER)


def completion_text(completion: Any) -> str:  # noqa: ANN401 - TRL passes str or a list of chat turns
    """The generated text of one completion, conversational (a list of turns) or plain."""
    if isinstance(completion, str):
        return completion
    return "".join(turn["content"] for turn in completion if turn.get("role", "assistant") == "assistant")


def consensus_reward(answer: str = "number") -> RewardFunction:
    """1.0 when a completion's parsed answer is the row's consensus answer (DTE's correctness reward)."""
    parser = answer_parser(answer)

    def consensus(completions: Sequence[Any], answer: Sequence[str], **_: Any) -> list[float]:
        return [
            float(safe_parse(parser, completion_text(completion)).answer == label)
            for completion, label in zip(completions, answer, strict=True)
        ]

    return consensus


def numeric(completions: Sequence[Any], **_: Any) -> list[float]:
    """1.0 when the text after the last ``####`` (to the end of its line) is a number."""
    scores = []
    for completion in completions:
        text = completion_text(completion)
        _, marker, tail = text.rpartition(MARKER)
        value = tail.strip().splitlines()[0] if marker and tail.strip() else ""
        scores.append(float(bool(marker) and normalize_number(value) is not None))
    return scores


def strict_format(completions: Sequence[Any], **_: Any) -> list[float]:
    """1.0 for reasoning, then one final ``#### <number>`` line with nothing after it."""
    scores = []
    for completion in completions:
        text = completion_text(completion).rstrip()
        match = _ANSWER_LINE.search(text)
        ok = (
            match is not None
            and match.end() == len(text)
            and text.count(MARKER) == 1
            and bool(text[: match.start()].strip())
        )
        scores.append(float(ok))
    return scores


def soft_format(completions: Sequence[Any], **_: Any) -> list[float]:
    """1.0 when ``#### <number>`` appears anywhere."""
    return [float(_ANYWHERE.search(completion_text(completion)) is not None) for completion in completions]


def marker_count(completions: Sequence[Any], **_: Any) -> list[float]:
    """Partial credit for the answer line's parts, minus 0.002 per character written after it."""
    scores = []
    for completion in completions:
        text = completion_text(completion)
        score = 0.25 * (text.count(MARKER) == 1)
        match = _ANSWER_LINE.search(text)
        if MARKER in text:
            before = text.rpartition(MARKER)[0]
            score += 0.25 * (before == "" or before.endswith("\n"))
            score += 0.25 * bool(before.strip())
        if match is not None:
            score += 0.25
            score -= 0.002 * len(text[match.end() :].strip())
        scores.append(score)
    return scores


def dte_rewards(
    weights: RewardWeights | None = None, answer: str = "number"
) -> tuple[list[RewardFunction], list[float]]:
    """The reward functions and their weights, in TRL's ``reward_funcs`` / ``reward_weights`` form.

    Rewards with weight 0 are left out (they would cost time and add nothing).
    """
    weights = weights or RewardWeights()
    functions: dict[str, RewardFunction] = {
        "consensus": consensus_reward(answer),
        "numeric": numeric,
        "strict_format": strict_format,
        "soft_format": soft_format,
        "marker_count": marker_count,
    }
    chosen = [(functions[name], weight) for name, weight in weights.model_dump().items() if weight > 0]
    return [function for function, _ in chosen], [weight for _, weight in chosen]
