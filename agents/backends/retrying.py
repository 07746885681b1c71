"""Retrying transient backend failures, with exponential backoff and jitter.

Backends say *whether* a failure is worth retrying by raising
``TransientBackendError`` (rate limited, server error, timeout, dropped
connection, garbled reply) or a plain ``BackendError`` (bad request, wrong key,
unknown model: retrying cannot help). ``RetryingBackend`` decides *how*: it is
the one place with a retry loop, so retries are counted in one place and never
multiply through nested layers.
"""

from __future__ import annotations

import logging
import random
from typing import Literal

from debate.agents.backends.base import Backend, BackendError, ChatRequest, ChatResponse
from debate.agents.backends.per_request import PerRequestBackend, serve_one
from pydantic import BaseModel, ConfigDict, Field
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

logger = logging.getLogger(__name__)

FailureKind = Literal["rate_limited", "server_error", "timeout", "connection", "malformed", "injected"]


class TransientBackendError(BackendError):
    """A failure that may pass if the same request is sent again later.

    ``kind`` says what went wrong (``connection`` means the endpoint could not
    be reached or hung up, which load balancers treat as "endpoint down");
    ``status`` is the HTTP status when there was one; ``retry_after_s`` is how
    long the server asked us to wait.
    """

    def __init__(
        self,
        message: str,
        *,
        kind: FailureKind,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind: FailureKind = kind
        self.status = status
        self.retry_after_s = retry_after_s


class RetryPolicy(BaseModel):
    """How hard to retry.

    ``max_attempts`` counts the first try. Waits grow exponentially from
    ``initial_wait_s`` up to ``max_wait_s`` with full jitter, so that many
    debates failing at once do not retry in lockstep. A server's
    ``Retry-After`` replaces the backoff, capped at ``max_retry_after_s``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(default=6, ge=1)
    initial_wait_s: float = Field(default=0.5, ge=0.0)
    max_wait_s: float = Field(default=30.0, ge=0.0)
    max_retry_after_s: float = Field(default=120.0, ge=0.0)


class RetryingBackend(PerRequestBackend):
    """Retries each request on ``TransientBackendError``; other errors pass through at once.

    After the last attempt it raises a plain ``BackendError`` (not transient),
    so that an outer retry layer does not start over. ``attempts`` and
    ``retries`` count calls to the wrapped backend and repeated calls.
    """

    def __init__(self, inner: Backend, policy: RetryPolicy | None = None, *, name: str | None = None) -> None:
        self.inner = inner
        self.policy = policy or RetryPolicy()
        self.name = name or inner.name
        self.attempts = 0
        self.retries = 0
        self._backoff = wait_random_exponential(
            multiplier=self.policy.initial_wait_s, max=self.policy.max_wait_s
        )

    def __repr__(self) -> str:
        return f"RetryingBackend({self.inner!r}, {self.policy!r})"

    async def generate_one(self, request: ChatRequest) -> ChatResponse:
        # The first attempt runs outside tenacity: setting up its loop costs more CPU per request
        # than a fast server's reply, and almost every request succeeds the first time.
        self.attempts += 1
        try:
            return await serve_one(self.inner, request)
        except TransientBackendError as error:
            return await self._retry(request, error)

    async def _retry(self, request: ChatRequest, first_error: TransientBackendError) -> ChatResponse:
        """Attempts 2.. under tenacity; its attempt 1 replays ``first_error``, so waits and counts are as usual."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.policy.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(TransientBackendError),
            before_sleep=self._before_sleep,
            reraise=True,
        )
        replayed = False
        try:
            async for attempt in retrying:
                with attempt:
                    if not replayed:
                        replayed = True
                        raise first_error
                    self.attempts += 1
                    return await serve_one(self.inner, request)
        except TransientBackendError as error:
            raise BackendError(
                f"{self.name}: gave up after {self.policy.max_attempts} attempts; last error: {error}"
            ) from error
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        retry_after = getattr(error, "retry_after_s", None)
        if retry_after is not None:
            # Honour the server; a little jitter keeps clients told the same time apart.
            return min(retry_after, self.policy.max_retry_after_s) + random.uniform(
                0, self.policy.initial_wait_s
            )
        return self._backoff(state)

    def _before_sleep(self, state: RetryCallState) -> None:
        self.retries += 1
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        logger.info(
            "%s: attempt %d failed (%s); retrying in %.2fs", self.name, state.attempt_number, error, wait
        )
