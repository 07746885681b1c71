"""The typed messages that agents exchange during a debate.

A message is the unit of everything downstream: transcripts are lists of
messages, training exports read them, reports render them. So each one carries
enough provenance (who saw it, which model wrote it with which sampling
parameters, what it cost) to be analysed on its own, long after the run.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from debate.logprobs import LogprobSummary


class Role(StrEnum):
    """What an agent does in a debate."""

    DEBATER = "debater"
    CRITIC = "critic"
    REFINER = "refiner"
    JUDGE = "judge"


class MessageKind(StrEnum):
    """What a message is, independent of who wrote it."""

    ARGUMENT = "argument"
    CRITIQUE = "critique"
    REFINEMENT = "refinement"
    VERDICT = "verdict"
    QUESTION = "question"
    """A judge's question to a debater (consultancy: the judge questions the consultant)."""


def without_empty(fields: dict[str, Any], *names: str) -> dict[str, Any]:
    """``fields`` (a model's serialised fields) without those of ``names`` that are unset (0, empty, None).

    For fields added after files and fingerprints were first written: left out when unused, what older code
    wrote stays byte for byte what the new code writes.
    """
    for name in names:
        if not fields.get(name):
            fields.pop(name, None)
    return fields


class SamplingParams(BaseModel):
    """Sampling parameters sent with a chat request.

    They are recorded on every message so that a transcript says exactly how
    each text was produced; backends map them to their own names.

    ``n`` asks for that many completions of each request: the message is the
    first, and every one is kept in ``Message.samples``. ``logprobs`` asks for
    token log-probabilities (summarised on ``Message.logprobs``);
    ``top_logprobs`` (0-20, OpenAI's limit) also asks for that many
    alternatives per token, which yields an entropy estimate and keeps every
    token on the message.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float = Field(default=0.7, ge=0.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(default=512, ge=1)
    seed: int | None = None
    stop: tuple[str, ...] = ()
    n: int = Field(default=1, ge=1)
    logprobs: bool = False
    top_logprobs: int = Field(default=0, ge=0, le=20)

    @model_validator(mode="after")
    def _alternatives_need_logprobs(self) -> SamplingParams:
        if self.top_logprobs and not self.logprobs:
            raise ValueError(
                f"top_logprobs: {self.top_logprobs} alternatives per token need logprobs=True as well"
            )
        return self

    @model_serializer(mode="wrap")
    def _without_unused_alternatives(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Left out at 0, so scenario fingerprints (and the debate ids made from them) stay what they were.
        return without_empty(handler(self), "top_logprobs")


class Usage(BaseModel):
    """Token counts of one model call, as the backend reported them."""

    model_config = ConfigDict(extra="forbid")

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
        )


class Sample(BaseModel):
    """One of the ``n`` completions of a call with ``SamplingParams.n > 1``, parsed like the message itself."""

    model_config = ConfigDict(extra="forbid")

    text: str
    answer: str | None = None
    parse_error: str | None = None
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    private_confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    logprobs: LogprobSummary | None = None


class Message(BaseModel):
    """One contribution to a debate: an argument, critique, refinement or verdict.

    ``answer`` is the parsed answer (``None`` when the text could not be parsed;
    ``parse_error`` then says why, and the message counts as an abstention).
    ``visible_to`` lists the agents that will see this message in later steps,
    as decided by the topology; ``responds_to`` lists the ids of the messages
    that were in the author's prompt. ``logprobs`` summarises the text's
    token log-probabilities when the sampling asked for them (and the backend
    returned them); ``samples`` holds all ``n`` completions, this text first,
    when the sampling asked for more than one (peers see only the first).
    """

    model_config = ConfigDict(extra="forbid")

    id: str
    debate_id: str
    round: int = Field(ge=0)
    author: str
    role: Role
    kind: MessageKind
    text: str
    answer: str | None = None
    parse_error: str | None = None
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    visible_to: list[str] = Field(default_factory=list)
    responds_to: list[str] = Field(default_factory=list)
    model: str = ""
    sampling: SamplingParams = Field(default_factory=SamplingParams)
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0
    decision: str | None = None
    """For verdicts: ``"stop"`` or ``"continue"`` when the judge steers the debate."""
    private_confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    """The author's stated chance that its answer is right, cut from ``text`` before anyone read it
    (``Scenario.private_confidence``); ``None`` when not asked for or not given."""
    logprobs: LogprobSummary | None = None
    samples: list[Sample] = Field(default_factory=list)

    @property
    def sample_agreement(self) -> float | None:
        """The share of ``samples`` whose answer is this message's answer: self-consistency as confidence."""
        if not self.samples or self.answer is None:
            return None
        return sum(sample.answer == self.answer for sample in self.samples) / len(self.samples)


Continuation = Literal["accept", "resist", "belief"]


class Branch(BaseModel):
    """An alternative continuation of one turn: a node of a dialogue tree beside the debate.

    The same author answers the same turn again, reading the same messages, with
    one instruction added to its prompt. At ``Scenario.branch_at`` (PBT) a
    debater whose peer disagreed is told to adopt the persuading peer's answer
    (``accept``) or to keep its own (``resist``); in ``aidsafe`` the refiner is
    told to take the ear-whisperer's false belief as true (``belief``). The
    debate goes on from the turn's own message (``of``); nobody reads a branch.
    """

    model_config = ConfigDict(extra="forbid")

    of: str
    """The id of the turn's own (main-line) message."""
    continuation: Continuation
    steered_by: str
    """The id of the message that steers the branch: the peer whose answer ``accept`` adopts and ``resist``
    turns down, or the belief a ``belief`` branch takes as true."""
    instruction: str
    """What was added to the turn's prompt to steer this continuation (the training prompt leaves it out)."""
    message: Message


def message_id(debate_id: str, round: int, author: str, kind: MessageKind) -> str:
    """Deterministic ids make resumed runs and exports reproducible."""
    return f"{debate_id}/r{round}/{author}/{kind.value}"
