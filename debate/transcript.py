"""Transcripts and results: what a debate said, and how it ended.

A ``DebateResult`` is one JSON line. Files of results (``*.jsonl``, one debate
per line) are the product of a run: reports, exports and metrics only read
them. Saving and loading is lossless.

Every result has one of three ``Outcome``s, and everything that counts results
keeps them apart (docs/running.md, "Outcomes"): a debate that finished with a
valid answer, one that finished without (the model's doing: scored as wrong,
never rerun), and one that failed (the infrastructure's doing: rerun by
``--retry-failed``, exit status 1). Mixing the last two would let retries
re-sample exactly the debates where a model did badly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from debate.dynamics import Dynamics, compute_dynamics
from debate.messages import Branch, Message, MessageKind, Role, Usage, without_empty


class Transcript(BaseModel):
    """Everything that was said in one debate, in order.

    ``branches`` holds the alternative continuations of branched turns
    (``Scenario.branch_at``): the dialogue tree around the debate, which
    ``messages`` (the line the debate took) never includes.
    """

    model_config = ConfigDict(extra="forbid")

    debate_id: str
    scenario: str
    question: str
    context: dict[str, str] = Field(default_factory=dict)
    messages: list[Message] = Field(default_factory=list)
    branches: list[Branch] = Field(default_factory=list)

    @model_serializer(mode="wrap")
    def _without_empty_branches(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return without_empty(handler(self), "branches")  # unbranched results are written as before

    def by_round(self, round_: int) -> list[Message]:
        return [message for message in self.messages if message.round == round_]

    def by_author(self, author: str) -> list[Message]:
        return [message for message in self.messages if message.author == author]

    def debater_answers(self, round_: int) -> list[Message]:
        return [
            m
            for m in self.by_round(round_)
            if m.role is Role.DEBATER and m.kind in (MessageKind.ARGUMENT, MessageKind.REFINEMENT)
        ]

    def verdicts(self) -> list[Message]:
        """The judge's verdicts, in order."""
        return [m for m in self.messages if m.role is Role.JUDGE and m.kind is MessageKind.VERDICT]

    @property
    def rounds(self) -> int:
        return 1 + max((message.round for message in self.messages), default=-1)

    @property
    def calls(self) -> list[Message]:
        """Every message a model call wrote: ``messages``, then the branches' (what the debate cost)."""
        return [*self.messages, *(branch.message for branch in self.branches)]

    @property
    def usage(self) -> Usage:
        total = Usage()
        for message in self.calls:
            total = total + message.usage
        return total


class Outcome(StrEnum):
    """How a debate ended."""

    ANSWERED = "answered"
    """Finished with a valid final answer (right or wrong)."""
    NO_ANSWER = "no_answer"
    """Finished without a valid final answer (unparseable, or a verdict outside the answers in dispute).
    Scored as wrong; ``reason`` says why. The model's doing, so ``--retry-failed`` leaves it alone."""
    FAILED = "failed"
    """Did not finish: a backend still failing after its retries, or a crash; ``reason`` holds the error.
    The only outcome that ``--retry-failed`` reruns and that makes ``debate run`` exit with status 1."""


LEGACY_NO_ANSWER = "no parseable final answer"
"""How results written before ``outcome`` existed began the ``error`` of a debate that finished unanswered."""


def row_outcome(row: Mapping[str, Any]) -> Outcome:
    """The outcome of a result line read as plain JSON (as the run directory's index reads it, without pydantic).

    Lines written before ``outcome`` existed have ``error`` instead: set for
    failures, and also (wrongly) for debates that finished unanswered.
    """
    if row.get("outcome") is not None:
        return Outcome(row["outcome"])
    error = row.get("error")
    if error is not None:
        return Outcome.NO_ANSWER if str(error).startswith(LEGACY_NO_ANSWER) else Outcome.FAILED
    return Outcome.ANSWERED if row.get("final_answer") is not None else Outcome.NO_ANSWER


def no_answer_reason(transcript: Transcript) -> str:
    """Why a finished debate has no final answer: what the parsers said about its last round."""
    last_round = transcript.rounds - 1
    reasons = sorted(
        {f"{m.author}: {m.parse_error}" for m in transcript.messages if m.parse_error and m.round == last_round}
    )
    return "no valid final answer" + (f" ({'; '.join(reasons)})" if reasons else "")


class DebateResult(BaseModel):
    """A debate's transcript and how it ended (``outcome``, with the ``reason`` when there is no answer).

    Built without an ``outcome`` (as older results files were written), the
    outcome follows from the other fields: see ``row_outcome``.
    """

    model_config = ConfigDict(extra="forbid")

    transcript: Transcript
    final_answer: str | None = None
    outcome: Outcome
    reason: str | None = None
    """Why there is no final answer: the parsers' reasons (``no_answer``) or the error (``failed``)."""
    stop_reason: str | None = None
    """``consensus``, ``judge``, ``max_rounds``, or ``failed``."""
    gold: str | None = None
    """The reference answer as the scenario's answer parser reads it (never shown to agents)."""
    dynamics: Dynamics = Field(default_factory=Dynamics)
    wall_time_s: float = 0.0
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _outcome_from_older_fields(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or data.get("outcome") is not None:
            return data
        data = dict(data)
        outcome = row_outcome(data)
        data["outcome"] = outcome
        data["reason"] = data.pop("error", None) or data.get("reason")
        if outcome is Outcome.NO_ANSWER and data["reason"] is None and "transcript" in data:
            data["reason"] = no_answer_reason(Transcript.model_validate(data["transcript"]))
        return data

    @model_validator(mode="after")
    def _outcome_agrees_with_the_answer(self) -> DebateResult:
        answered = self.final_answer is not None
        if answered != (self.outcome is Outcome.ANSWERED):
            raise ValueError(
                f"outcome: {self.outcome.value!r} with final_answer {self.final_answer!r}; "
                "'answered' needs a final answer, 'no_answer' and 'failed' have none"
            )
        if self.outcome is not Outcome.ANSWERED and not self.reason:
            raise ValueError(f"reason: a debate with outcome {self.outcome.value!r} needs its reason")
        return self

    @property
    def debate_id(self) -> str:
        return self.transcript.debate_id

    @property
    def correct(self) -> bool | None:
        if self.gold is None:
            return None
        return self.final_answer is not None and self.final_answer == self.gold

    @property
    def failed(self) -> bool:
        return self.outcome is Outcome.FAILED

    def recompute_dynamics(self) -> DebateResult:
        return self.model_copy(update={"dynamics": compute_dynamics(self.transcript.messages)})

    def to_json_line(self) -> str:
        return self.model_dump_json() + "\n"

    @classmethod
    def from_json_line(cls, line: str) -> DebateResult:
        return cls.model_validate_json(line)


def save_results(path: str | Path, results: Iterable[DebateResult], *, append: bool = False) -> None:
    """Write results as JSONL, one debate per line."""
    with open(path, "a" if append else "w", encoding="utf-8") as handle:
        for result in results:
            handle.write(result.to_json_line())


def load_results(path: str | Path) -> Iterator[DebateResult]:
    """Stream results from a JSONL file without holding them all in memory."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield DebateResult.from_json_line(line)
            except ValueError as error:
                raise ValueError(f"{path}:{number}: not a debate result: {error}") from error
