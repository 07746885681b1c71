"""The prompts of exported examples: the very prompts the model sees when it answers.

A model trained on debate traces is used in two places afterwards: alone, in
evaluation, and as a debater in the next evolution round. Both start from the
round-0 debater prompt of the framework's templates (``agents/prompts/common.toml``:
``debater.system`` and ``debater.first_round``). So that is the prompt of every
trace, whatever round the trace was written in: the model learns to produce,
unprompted by peers, what the debate converged to. ``debate.train.evaluate``
asks its questions with the same chat, built here.

Context fields (a GSM8K worked solution, a QuALITY passage) are left out
unless named in ``context_fields``: the data must never leak a gold solution
into a prompt by default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict

from debate.agents.prompting import context_block, load_templates, quote_untrusted, render
from debate.answers import answer_parser
from debate.messages import Message

Chat = list[dict[str, str]]


@cache
def _default_templates() -> dict[str, str]:
    return load_templates("common")


class PromptTemplates(BaseModel):
    """Template overrides (``str.format`` placeholders as in ``agents/prompts/*.toml``); ``None`` keeps the framework's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    system: str | None = None
    """Solver system prompt; default ``debater.system``."""
    user: str | None = None
    """Solver user prompt; default ``debater.first_round`` (placeholders ``{context}``, ``{question}``, ``{answer_instruction}``)."""

    def templates(self) -> dict[str, str]:
        overrides = {"debater.system": self.system, "debater.first_round": self.user}
        return {
            **_default_templates(),
            **{key: value for key, value in overrides.items() if value is not None},
        }


def solver_chat(
    question: str,
    context: Mapping[str, str] | None = None,
    *,
    answer: str = "number",
    context_fields: Sequence[str] = (),
    templates: PromptTemplates | None = None,
    **values: str,
) -> Chat:
    """System and user turns asking one model to solve ``question`` alone; ``values`` fill extra placeholders."""
    values = {**_values(question, context, answer, context_fields), **values}
    chosen = (templates or PromptTemplates()).templates()
    return [
        {"role": "system", "content": render(chosen, "debater.system", **values)},
        {"role": "user", "content": render(chosen, "debater.first_round", **values)},
    ]


def judge_chat(
    question: str,
    responses: Sequence[Message],
    context: Mapping[str, str] | None = None,
    *,
    answer: str = "number",
    context_fields: Sequence[str] = (),
    round: int = 0,
) -> Chat:
    """A canonical judging prompt: the question and the responses a verdict read, each quoted as untrusted text.

    Protocols word their judge prompts differently; training data needs one
    wording, and it must carry what the verdict was based on. Debater text only
    ever reaches a judge inside ``quote_untrusted``.
    """
    values = {**_values(question, context, answer, context_fields), "round": round}
    quoted = "\n".join(quote_untrusted(message.text, agent=message.author) for message in responses)
    templates = _default_templates()
    return [
        {"role": "system", "content": render(templates, "judge.system", **values)},
        {
            "role": "user",
            "content": render(
                templates, "judge.verdict", **values, responses=quoted, decision_instruction=""
            ),
        },
    ]


def assistant(text: str) -> Chat:
    """One assistant turn: the completion side of TRL's conversational formats."""
    return [{"role": "assistant", "content": text}]


def _values(
    question: str, context: Mapping[str, str] | None, answer: str, context_fields: Sequence[str]
) -> dict[str, Any]:
    return {
        "question": question,
        "context": context_block(context or {}, lambda field: field in context_fields),
        "answer_instruction": answer_parser(answer).instruction,
        "agent": "solver",
        "round": 0,
    }
