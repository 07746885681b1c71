"""The prompts of exported examples: the very prompts the model sees when it answers.

A model trained on debate traces is used in two places afterwards: alone, in
evaluation, and as a debater in the next evolution round. Both start from the
round-0 debater prompt (``debater.system`` and ``debater.first_round``): the
framework's (``agents/prompts/common.toml``) by default, or a scenario's own
after its overrides (``PromptTemplates.of_scenario``). So that is the prompt
of every trace, whatever round the trace was written in: the model learns to
produce, unprompted by peers, what the debate converged to.
``debate.train.evaluate`` asks its questions with the same chat, built here.

Context fields (a GSM8K worked solution, a QuALITY passage) are left out
unless named in ``context_fields``: the data must never leak a gold solution
into a prompt by default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, field_validator

from debate.agents.prompting import context_block, load_templates, quote_untrusted, render
from debate.answers import answer_parser
from debate.messages import Message

if TYPE_CHECKING:
    from debate.agents.roles import Agent
    from debate.scenario import Scenario

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

    @classmethod
    def of_scenario(cls, scenario: Scenario, debater: Agent | None = None) -> PromptTemplates:
        """The round-0 prompt ``debater`` (default: ``scenario``'s first) reads, where it differs from the framework's.

        Its protocol's templates with the scenario's ``prompts`` and the
        debater's own on top, as the debate renders them (``debate.graph.agent_templates``).
        Round 0 is ``debater.first_round`` in the solver protocols (``simultaneous``,
        ``rcr``, ``critic_refiner``), the ones whose traces train a solver.
        """
        from debate.graph import agent_templates

        if not scenario.debaters:
            raise ValueError(f"scenario {scenario.name!r} has no debater, so no round-0 solver prompt")
        templates = agent_templates(scenario, debater or scenario.debaters[0])
        defaults = _default_templates()
        system, user = templates["debater.system"], templates["debater.first_round"]
        return cls(
            system=system if system != defaults["debater.system"] else None,
            user=user if user != defaults["debater.first_round"] else None,
        )

    def overrides(self) -> dict[str, str]:
        """The templates that differ from the framework's, keyed as in ``Scenario.prompts``."""
        chosen = {"debater.system": self.system, "debater.first_round": self.user}
        return {key: value for key, value in chosen.items() if value is not None}

    def templates(self) -> dict[str, str]:
        return {**_default_templates(), **self.overrides()}


class JudgePrompt(BaseModel):
    """Overrides of the judging prompt (``judge.system``, ``judge.verdict``); ``None`` keeps the framework's.

    The user prompt's placeholders are ``{context}``, ``{question}``, ``{round}``, ``{responses}``,
    ``{answer_instruction}`` and ``{decision_instruction}`` (empty here). A small model that never read the
    framework's long judging prompt (the testbed's demo model) can be asked in words it knows; the
    responses still reach it only quoted as untrusted text, in ``{responses}``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    system: str | None = None
    user: str | None = None

    @field_validator("user")
    @classmethod
    def _reads_the_question_and_the_responses(cls, user: str | None) -> str | None:
        missing = [slot for slot in ("{question}", "{responses}") if user is not None and slot not in user]
        if missing:
            raise ValueError(f"the judge's user prompt must contain {' and '.join(missing)}")
        return user

    def templates(self) -> dict[str, str]:
        chosen = {"judge.system": self.system, "judge.verdict": self.user}
        return {**_default_templates(), **{key: value for key, value in chosen.items() if value is not None}}


def scenario_solver_options(scenario: Scenario, answer: str | None = None) -> dict[str, Any]:
    """Export options (``prompt``, ``author_prompts``, ``answer``) that ask with ``scenario``'s round-0 prompts.

    ``prompt`` is the first debater's; a debater with a round-0 prompt of its
    own (a persona, a method) is in ``author_prompts``, so that its traces (and
    the rows and pairs built on its responses) are asked as it was asked.

    ``answer`` names the answer format when the scenario's parser is not a
    built-in one (``number``, ``choice``, ``text``); given, it wins.
    """
    if answer is None and not isinstance(scenario.answer, str):
        raise ValueError(
            f"answer: scenario {scenario.name!r} parses answers with its own parser; "
            "name the answer format its solver prompt should ask for: number, choice or text"
        )
    prompt = PromptTemplates.of_scenario(scenario)
    own = {debater.name: PromptTemplates.of_scenario(scenario, debater) for debater in scenario.debaters}
    return {
        "answer": answer or scenario.answer,
        "prompt": prompt.model_dump(exclude_none=True),
        "author_prompts": {
            name: templates.model_dump(exclude_none=True)
            for name, templates in own.items()
            if templates != prompt
        },
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
    prompt: JudgePrompt | None = None,
) -> Chat:
    """A canonical judging prompt: the question and the responses a verdict read, each quoted as untrusted text.

    Protocols word their judge prompts differently; training data needs one
    wording (the framework's, or ``prompt``'s), and it must carry what the
    verdict was based on. Debater text only ever reaches a judge inside ``quote_untrusted``.
    """
    values = {**_values(question, context, answer, context_fields), "round": round}
    quoted = "\n".join(quote_untrusted(message.text, agent=message.author) for message in responses)
    templates = (prompt or JudgePrompt()).templates()
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
