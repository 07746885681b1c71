"""Learning from mistakes in context (Alazraki et al. 2025, "LLMs can implicitly learn from mistakes in-context").

The paper finds that models learn more from earlier questions shown with a
wrong *and* a right answer side by side, with no rationale for the mistake,
than from right answers alone. Here the examples come from a run's own
``results.jsonl``: for each earlier debate, a debater's answer that missed the
label and one that hit it. The label is explicit:

- ``"gold"``: the item's reference answer (debates without one are skipped);
- ``"consensus"``: the debate's final answer, for data without gold; the prompt
  says so, since a consensus can itself be wrong.

``with_mistakes(scenario, examples)`` puts the block before the scenario's
first-round debater prompt (templates in ``agents/prompts/mistakes.toml``), so
any protocol, backend and topology can use it. Questions of the new run that
appear among the examples are the user's to keep apart (e.g. examples from a
train split, the run on test).
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice
from typing import Literal

from pydantic import BaseModel, ConfigDict

from debate.agents.prompting import load_templates, render
from debate.messages import Role
from debate.protocols import get_protocol
from debate.scenario import Scenario
from debate.transcript import DebateResult

MistakeLabel = Literal["gold", "consensus"]


class MistakeExample(BaseModel):
    """One earlier question with a wrong answer and a right one (``right_text`` is None when no agent got it right)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    question: str
    label: str
    wrong_answer: str
    wrong_text: str
    right_text: str | None = None


def mistake_examples(
    results: Iterable[DebateResult], *, label: MistakeLabel = "gold", limit: int = 3
) -> list[MistakeExample]:
    """Up to ``limit`` examples, one per earlier debate in which some debater missed ``label``'s answer."""
    if label not in ("gold", "consensus"):
        raise ValueError(f"label: expected 'gold' or 'consensus', got {label!r}")
    return list(islice(_examples(results, label), limit))


def _examples(results: Iterable[DebateResult], label: MistakeLabel) -> Iterable[MistakeExample]:
    for result in results:
        target = result.gold if label == "gold" else result.final_answer
        if target is None:
            continue
        answers = [m for m in result.transcript.messages if m.role is Role.DEBATER and m.answer is not None]
        wrong = next((m for m in answers if m.answer != target), None)
        if wrong is None:
            continue
        right = next((m for m in reversed(answers) if m.answer == target), None)
        yield MistakeExample(
            question=result.transcript.question,
            label=target,
            wrong_answer=wrong.answer or "",
            wrong_text=wrong.text,
            right_text=right.text if right is not None else None,
        )


def examples_block(
    examples: Iterable[MistakeExample], *, label: MistakeLabel = "gold", prompts: dict[str, str] | None = None
) -> str:
    """The in-context block: each example's wrong and right answers side by side, the labelling rule stated."""
    templates = load_templates("mistakes", prompts or {})
    rendered = [
        render(
            templates,
            "mistakes.example",
            number=number,
            question=example.question,
            wrong=example.wrong_text,
            right=example.right_text or render(templates, "mistakes.unknown_right", answer=example.label),
        )
        for number, example in enumerate(examples, start=1)
    ]
    if not rendered:
        return ""
    rule = render(templates, f"mistakes.label_{label}")
    return render(templates, "mistakes.block", examples="\n\n".join(rendered), label_rule=rule)


def with_mistakes(
    scenario: Scenario,
    examples: Iterable[MistakeExample],
    *,
    label: MistakeLabel = "gold",
    key: str = "debater.first_round",
) -> Scenario:
    """``scenario`` with the examples block before its ``key`` template (its own override, else the protocol's)."""
    block = examples_block(examples, label=label, prompts=scenario.prompts)
    if not block:
        return scenario
    protocol = get_protocol(scenario.protocol)
    template = load_templates(getattr(protocol, "prompt_file", protocol.name), scenario.prompts)[key]
    escaped = block.replace("{", "{{").replace("}", "}}")
    return scenario.model_copy(update={"prompts": {**scenario.prompts, key: escaped + template}})
