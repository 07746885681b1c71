"""A deterministic backend whose answers are written by the test or the user.

It is a first-class backend, not a mock: the whole debate machinery (graph,
topology, parsing, voting, checkpointing, runner) runs unchanged on it, so
tests exercise real code without a GPU or a network. It can also simulate
latency and failures, which is how resume and fault handling are tested.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

from debate.agents.backends.base import BackendError, ChatRequest, ChatResponse, Completion

from debate.logprobs import TokenLogprob
from debate.messages import Usage

Script = Callable[[ChatRequest], str] | Mapping[str, str | Sequence[str]]


class ScriptedBackend:
    """Answers chat requests from a script.

    ``script`` is either a function ``request -> text`` or a mapping from agent
    name to a text (every round) or to a list of texts indexed by round (the
    last one repeats). Agents absent from the mapping get ``default``.
    ``record=False`` stops keeping every request (for long benchmarks).

    ``latency_s`` delays each call (simulating a model server). ``failures``
    maps ``(agent, round)`` to how many calls for that pair fail before one
    succeeds; ``fail_if`` fails every request it returns True for.

    With ``SamplingParams.n > 1`` the script is read n times (a function can
    vary its answers; a mapping gives the same text n times). Requests that
    ask for ``logprobs`` get one token per word (with the whitespace before
    it), each with the log-probability ``token_logprob`` gives it (``None``:
    no log-probabilities, as from a server that has none).
    """

    def __init__(
        self,
        script: Script | None = None,
        *,
        default: str = "#### 0",
        latency_s: float = 0.0,
        failures: Mapping[tuple[str, int], int] | None = None,
        fail_if: Callable[[ChatRequest], bool] | None = None,
        model: str = "scripted",
        name: str = "scripted",
        record: bool = True,
        token_logprob: Callable[[str], float] | None = None,
    ) -> None:
        self.script = script if script is not None else {}
        self.token_logprob = token_logprob
        self.default = default
        self.latency_s = latency_s
        self.model = model
        self.name = name
        self._failures_left = Counter(failures or {})
        self._fail_if = fail_if
        self.record = record
        """Keep every request in ``calls``/``completed`` (tests inspect them; long benchmarks turn it off)."""
        self.calls: list[ChatRequest] = []
        """Every request that reached the backend, failed ones included."""
        self.completed: list[ChatRequest] = []
        """Requests that returned a response."""

    async def generate(self, requests: Sequence[ChatRequest]) -> list[ChatResponse]:
        if len(requests) == 1:  # the common case: no task per request
            return [await self._one(requests[0])]
        return list(await asyncio.gather(*(self._one(request) for request in requests)))

    async def _one(self, request: ChatRequest) -> ChatResponse:
        started = time.perf_counter()
        if self.record:
            self.calls.append(request)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        key = (request.agent, request.round)
        if self._failures_left[key] > 0:
            self._failures_left[key] -= 1
            raise BackendError(f"scripted failure for agent {request.agent!r} in round {request.round}")
        if self._fail_if is not None and self._fail_if(request):
            raise BackendError(f"scripted failure for agent {request.agent!r} in round {request.round}")
        texts = [self._text_for(request) for _ in range(request.sampling.n)]
        if self.record:
            self.completed.append(request)
        prompt_words = sum(len(message.content.split()) for message in request.messages)
        return ChatResponse.of_completions(
            [Completion(text=text, logprobs=self._logprobs(request, text)) for text in texts],
            model=request.model or self.model,
            usage=Usage(
                prompt_tokens=prompt_words, completion_tokens=sum(len(text.split()) for text in texts)
            ),
            latency_s=time.perf_counter() - started,
        )

    def _logprobs(self, request: ChatRequest, text: str) -> list[TokenLogprob] | None:
        if not request.sampling.logprobs or self.token_logprob is None:
            return None
        return [
            TokenLogprob(token=token, logprob=self.token_logprob(token))
            for token in re.findall(r"\s*\S+", text)
        ]

    def _text_for(self, request: ChatRequest) -> str:
        if callable(self.script):
            return self.script(request)
        entry = self.script.get(request.agent, self.default)
        if isinstance(entry, str):
            return entry
        if not entry:
            return self.default
        return entry[min(request.round, len(entry) - 1)]
