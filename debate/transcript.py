"""Transcripts and results: what a debate said, and how it ended.

A ``DebateResult`` is one JSON line. Files of results (``*.jsonl``, one debate
per line) are the product of a run: reports, exports and metrics only read
them. Saving and loading is lossless.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from debate.dynamics import Dynamics, compute_dynamics
from debate.messages import Message, MessageKind, Role, Usage


class Transcript(BaseModel):
    """Everything that was said in one debate, in order."""

    model_config = ConfigDict(extra="forbid")

    debate_id: str
    scenario: str
    question: str
    context: dict[str, str] = Field(default_factory=dict)
    messages: list[Message] = Field(default_factory=list)

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
    def usage(self) -> Usage:
        total = Usage()
        for message in self.messages:
            total = total + message.usage
        return total


class DebateResult(BaseModel):
    """A finished (or failed) debate: its transcript and outcome."""

    model_config = ConfigDict(extra="forbid")

    transcript: Transcript
    final_answer: str | None = None
    stop_reason: str | None = None
    """``consensus``, ``judge``, ``max_rounds``, or ``failed``."""
    gold: str | None = None
    """The reference answer, when the dataset has one (never shown to agents)."""
    error: str | None = None
    dynamics: Dynamics = Field(default_factory=Dynamics)
    wall_time_s: float = 0.0
    metadata: dict[str, Any] = Field(default_factory=dict)

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
        return self.error is not None

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
