"""Gathering concurrent requests into batches for a backend that runs batches as one unit.

Each debate agent asks for one completion at a time, so a run of many
concurrent debates sends a stream of single-request ``generate`` calls. A
local model is far faster on one batch of 16 than on 16 batches of one; this
wrapper turns the stream into batches: requests wait at most ``max_wait_s``
for others to join, a batch never exceeds ``max_batch_size``, and while
``max_concurrent_batches`` batches are already running, new requests keep
queueing and go out together as soon as one finishes.

When more requests wait than one batch holds, a batch is the oldest waiting
request plus those whose prompts are closest to it in length. Prompts in a
padded batch all cost as much as the longest, and in a debate they differ a
lot (later rounds quote earlier ones), so batching in arrival order wastes
work on padding. Taking the oldest every time means no request waits longer
than the requests ahead of it need to be served.

Each caller gets its own response, in the order of its own requests. A batch
that fails is retried request by request, so one bad request fails its own
caller and not the strangers that happened to share its batch.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from debate.agents.backends._loop_local import LoopLocal
from debate.agents.backends.base import Backend, BackendError, ChatRequest, ChatResponse


@dataclass
class _Waiting:
    request: ChatRequest
    response: asyncio.Future[ChatResponse]
    arrived: float
    size: int = field(init=False)

    def __post_init__(self) -> None:
        self.size = prompt_chars(self.request)


def prompt_chars(request: ChatRequest) -> int:
    """The prompt's length in characters: a tokenizer-free stand-in for its length in tokens."""
    return sum(len(message.content) for message in request.messages)


@dataclass
class _Queue:
    """The per-event-loop state: requests not yet sent, and the task that sends them."""

    slots: asyncio.Semaphore
    pending: deque[_Waiting] = field(default_factory=deque)
    arrival: asyncio.Event = field(default_factory=asyncio.Event)
    dispatcher: asyncio.Task[None] | None = None
    running: set[asyncio.Task[None]] = field(default_factory=set)


class BatchingBackend:
    """Sends ``inner`` batches gathered from concurrent ``generate`` calls.

    ``batches`` counts the batches sent to ``inner`` (failed ones and their
    one-by-one retries included), so the batching can be observed.
    """

    def __init__(
        self,
        inner: Backend,
        *,
        max_batch_size: int = 16,
        max_wait_s: float = 0.005,
        max_concurrent_batches: int = 1,
        name: str | None = None,
    ) -> None:
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be at least 1, got {max_batch_size}")
        if max_wait_s < 0:
            raise ValueError(f"max_wait_s must be >= 0, got {max_wait_s}")
        if max_concurrent_batches < 1:
            raise ValueError(f"max_concurrent_batches must be at least 1, got {max_concurrent_batches}")
        self.inner = inner
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_s
        self.max_concurrent_batches = max_concurrent_batches
        self.name = name or inner.name
        self.batches = 0
        self._queues = LoopLocal(lambda: _Queue(slots=asyncio.Semaphore(max_concurrent_batches)))

    def __repr__(self) -> str:
        return f"BatchingBackend({self.inner!r}, max_batch_size={self.max_batch_size}, max_wait_s={self.max_wait_s})"

    async def generate(self, requests: Sequence[ChatRequest]) -> list[ChatResponse]:
        queue = self._queues.get()
        loop = asyncio.get_running_loop()
        waiting = [_Waiting(request, loop.create_future(), loop.time()) for request in requests]
        queue.pending.extend(waiting)
        queue.arrival.set()
        if queue.dispatcher is None:
            queue.dispatcher = loop.create_task(self._dispatch(queue))
        return list(await asyncio.gather(*(item.response for item in waiting)))

    async def _dispatch(self, queue: _Queue) -> None:
        """Send batches while requests wait; exits when none do (the next ``generate`` starts a new one)."""
        loop = asyncio.get_running_loop()
        try:
            while queue.pending:
                await queue.slots.acquire()
                while len(queue.pending) < self.max_batch_size:  # give concurrent callers a moment to join
                    remaining = queue.pending[0].arrived + self.max_wait_s - loop.time()
                    if remaining <= 0:
                        break
                    queue.arrival.clear()
                    try:
                        await asyncio.wait_for(queue.arrival.wait(), remaining)
                    except TimeoutError:
                        break
                batch = self._take(queue)
                if not batch:
                    queue.slots.release()
                    continue
                task = loop.create_task(self._send(batch))
                queue.running.add(task)
                task.add_done_callback(queue.running.discard)
                task.add_done_callback(lambda _: queue.slots.release())
        finally:
            queue.dispatcher = None

    def _take(self, queue: _Queue) -> list[_Waiting]:
        """Up to ``max_batch_size`` waiting requests: the oldest, and those closest to it in prompt length.

        Requests whose callers stopped waiting (cancelled) are dropped.
        """
        live = [item for item in queue.pending if not item.response.done()]
        if len(live) <= self.max_batch_size:
            queue.pending.clear()
            return live
        oldest, others = live[0], live[1:]
        others.sort(key=lambda item: abs(item.size - oldest.size))  # stable: equally close ones by arrival
        batch = [oldest, *others[: self.max_batch_size - 1]]
        chosen = {id(item) for item in batch}
        queue.pending = deque(item for item in live if id(item) not in chosen)
        return batch

    async def _send(self, batch: list[_Waiting]) -> None:
        self.batches += 1
        try:
            responses = await self.inner.generate([item.request for item in batch])
            if len(responses) != len(batch):
                raise BackendError(
                    f"{self.inner.name}: returned {len(responses)} responses for a batch of {len(batch)} requests"
                )
        except asyncio.CancelledError:
            for item in batch:
                item.response.cancel()
            raise
        except Exception as error:
            if len(batch) > 1:  # find out whose request failed: one by one
                await asyncio.gather(*(self._send([item]) for item in batch))
                return
            if not batch[0].response.done():
                batch[0].response.set_exception(error)
            return
        for item, response in zip(batch, responses, strict=True):
            if not item.response.done():
                item.response.set_result(response)
