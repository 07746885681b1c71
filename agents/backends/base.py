"""The one interface between debate agents and models.

Everything a debate needs from a model is "a batch of chat requests in; text,
usage and latency out", plus token log-probabilities and all ``n`` samples
when the request's sampling asks for them. Keeping the interface this small
is what lets one debate mix an OpenAI-compatible server, an in-process vLLM engine and a local
transformers model, and lets tests run the real debate code on a scripted one.
Cross-cutting behaviour (retries, rate limits, load balancing, fault
injection) wraps a backend instead of living inside each implementation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from debate.logprobs import TokenLogprob
from debate.messages import SamplingParams, Usage


class ChatMessage(BaseModel):
    """One chat turn in OpenAI's format."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str


class ChatRequest(BaseModel):
    """One chat completion to run.

    ``agent``, ``debate_id`` and ``round`` are metadata: real backends ignore
    them, the scripted backend and tracing wrappers use them.
    """

    model_config = ConfigDict(extra="forbid")

    messages: list[ChatMessage]
    model: str | None = None
    sampling: SamplingParams = Field(default_factory=SamplingParams)
    agent: str = ""
    debate_id: str = ""
    round: int = 0

    def chat(self) -> list[dict[str, str]]:
        """The messages as plain ``{"role", "content"}`` dicts: what chat-completions APIs and chat templates read."""
        return [{"role": message.role, "content": message.content} for message in self.messages]


class Completion(BaseModel):
    """One sampled completion: its text and, when asked for, its tokens' log-probabilities."""

    model_config = ConfigDict(extra="forbid")

    text: str
    logprobs: list[TokenLogprob] | None = None


class ChatResponse(BaseModel):
    """What came back for one request.

    ``text`` and ``logprobs`` are the first completion's. ``logprobs`` is
    ``None`` unless the request's ``SamplingParams.logprobs`` asked for them
    (and the model returned them). With ``SamplingParams.n > 1``, ``samples``
    holds all n completions, the first one first; ``usage`` counts them all.
    """

    model_config = ConfigDict(extra="forbid")

    text: str
    model: str = ""
    usage: Usage = Field(default_factory=Usage)
    latency_s: float = 0.0
    logprobs: list[TokenLogprob] | None = None
    samples: list[Completion] = Field(default_factory=list)

    @classmethod
    def of_completions(
        cls,
        completions: list[Completion],
        *,
        model: str = "",
        usage: Usage | None = None,
        latency_s: float = 0.0,
    ) -> ChatResponse:
        """The response made of ``completions`` (at least one): the first is the text, all are samples if several."""
        if not completions:
            raise ValueError("completions: a response needs at least one completion")
        first = completions[0]
        return cls(
            text=first.text,
            logprobs=first.logprobs,
            model=model,
            usage=usage or Usage(),
            latency_s=latency_s,
            samples=completions if len(completions) > 1 else [],
        )

    def completions(self) -> list[Completion]:
        """Every completion: the samples, or the one text when there is a single one."""
        return self.samples or [Completion(text=self.text, logprobs=self.logprobs)]


class BackendError(RuntimeError):
    """A model call failed for good (after whatever retries the backend does)."""


@runtime_checkable
class Backend(Protocol):
    """A source of chat completions.

    ``generate`` receives requests that may come from many debates at once and
    returns one response per request, in order. Implementations should run the
    batch concurrently (or as one batch on the device); callers may call
    ``generate`` from many tasks at once.
    """

    name: str

    async def generate(self, requests: Sequence[ChatRequest]) -> list[ChatResponse]: ...


async def generate_one(backend: Backend, request: ChatRequest) -> ChatResponse:
    """Convenience for the common single-request call."""
    [response] = await backend.generate([request])
    return response
