"""A small OpenAI-compatible chat server for tests: stdlib only, on 127.0.0.1, in a thread.

It speaks just enough HTTP/1.1 (keep-alive, ``Content-Length`` bodies) for the
``openai`` client, serves ``GET /v1/models`` and ``POST /v1/chat/completions``,
and misbehaves on request: an error status (with ``Retry-After``), a slow
answer, a dropped connection or malformed JSON, either queued for the next
requests (``fail_next``) or at a seeded random rate. What it saw is counted on
the server side (requests, faults, requests in flight, usage) so tests can
check the client against an independent record.

Everything is bounded in time: slow answers are capped, idle connections are
closed, and ``stop()`` cancels whatever is still running.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal

Answer = Callable[[list[dict[str, Any]]], str | list[str]]
"""Chat messages (as sent by the client) -> the assistant's reply (or one per choice, repeated as needed, for n > 1)."""

TokenLogprobs = Callable[[str], float]
"""A token -> its log-probability, for answers to requests that ask for ``logprobs``."""


def digits_are_sure(token: str) -> float:
    """Digits are written with probability 0.9, every other token with 0.5."""
    return math.log(0.9) if token.strip().isdigit() else math.log(0.5)


def tokens_of(text: str) -> list[str]:
    """The fake tokenizer: each word with the whitespace before it, so the tokens spell the text exactly."""
    return re.findall(r"\s*\S+|\s+$", text)


def openai_logprobs(text: str, token_logprob: TokenLogprobs, top: int) -> dict[str, Any]:
    """``choices[i].logprobs`` in OpenAI's format: each token, and ``top`` alternatives (the token first)."""

    def entry(token: str, logprob: float) -> dict[str, Any]:
        return {"token": token, "logprob": logprob, "bytes": list(token.encode())}

    content = []
    for token in tokens_of(text):
        logprob = token_logprob(token)
        alternatives = [entry(token, logprob)]
        rest = 1 - math.exp(logprob)  # spread over the alternatives, halving each time
        for rank in range(1, top):
            alternatives.append(entry(f"<alt{rank}>", math.log(rest / 2**rank)))
        content.append({**entry(token, logprob), "top_logprobs": alternatives[:top]})
    return {"content": content, "refusal": None}


MAX_DELAY_S = 10.0


@dataclass(frozen=True)
class Fault:
    """One way to fail a chat request."""

    kind: Literal["status", "slow", "drop", "malformed"]
    status: int = 500
    retry_after: str | None = None
    delay_s: float = 0.0

    @classmethod
    def status_code(cls, status: int, retry_after: str | None = None) -> Fault:
        return cls("status", status=status, retry_after=retry_after)

    @classmethod
    def rate_limited(cls, retry_after: str | None = None) -> Fault:
        return cls.status_code(429, retry_after)

    @classmethod
    def server_error(cls) -> Fault:
        return cls.status_code(500)

    @classmethod
    def slow(cls, delay_s: float) -> Fault:
        return cls("slow", delay_s=min(delay_s, MAX_DELAY_S))

    @classmethod
    def drop(cls) -> Fault:
        return cls("drop")

    @classmethod
    def malformed(cls) -> Fault:
        return cls("malformed")

    @property
    def label(self) -> str:
        return f"status {self.status}" if self.kind == "status" else self.kind


def echo_last_message(messages: list[dict[str, Any]]) -> str:
    return f"You said: {messages[-1]['content']}"


@dataclass
class _Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class FakeOpenAIServer:
    """``with FakeOpenAIServer(answer) as server: OpenAIBackend(server.base_url, ...)``.

    ``delay_s`` delays every chat answer (so requests overlap and in-flight
    counts mean something). ``fault_rate`` fails that fraction of chat
    requests with a fault drawn from ``random_faults``, from a ``seed``-ed
    generator. ``api_key``, when set, is required as the bearer token (401
    otherwise). Error bodies quote the Authorization header they received,
    as some real proxies do, so tests can check the client redacts it.
    Requests that ask for ``logprobs`` get them in OpenAI's format, each
    token's from ``token_logprob``. ``require_max_completion_tokens`` refuses
    ``max_tokens`` with OpenAI's 400 for its newer models.
    """

    def __init__(
        self,
        answer: Answer = echo_last_message,
        *,
        model: str = "fake-model",
        delay_s: float = 0.0,
        fault_rate: float = 0.0,
        random_faults: Sequence[Fault] = (
            Fault.rate_limited("0"),
            Fault.server_error(),
            Fault.slow(2.0),
            Fault.drop(),
            Fault.malformed(),
        ),
        seed: int = 0,
        api_key: str | None = None,
        idle_timeout_s: float = 30.0,
        token_logprob: TokenLogprobs = digits_are_sure,
        require_max_completion_tokens: bool = False,
    ) -> None:
        self.answer = answer
        self.token_logprob = token_logprob
        self.require_max_completion_tokens = require_max_completion_tokens
        self.model = model
        self.delay_s = min(delay_s, MAX_DELAY_S)
        self.fault_rate = fault_rate
        self.random_faults = list(random_faults)
        self.api_key = api_key
        self.idle_timeout_s = idle_timeout_s
        self._random = random.Random(seed)
        self._queued: list[Fault] = []
        # what the server saw
        self.chat_bodies: list[dict[str, Any]] = []
        self.chat_headers: list[dict[str, str]] = []
        self.completions = 0
        self.faults: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    # -- lifecycle -----------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def address(self) -> str:
        """``host:port/v1``, as written in ``openai://`` URIs."""
        return f"127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAIServer:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fake-openai-server", daemon=True)
        self._thread.start()
        start = asyncio.start_server(self._serve_connection, "127.0.0.1", 0)
        self._server = asyncio.run_coroutine_threadsafe(start, self._loop).result(timeout=5)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        """Close the listening socket and every connection; the port then refuses connections."""
        if self._loop is None:
            return
        loop, self._loop = self._loop, None

        async def shutdown() -> None:
            assert self._server is not None
            self._server.close()
            for task in list(self._handlers):
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout=5)
        loop.call_soon_threadsafe(loop.stop)
        assert self._thread is not None
        self._thread.join(timeout=5)
        loop.close()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def fail_next(self, *faults: Fault) -> None:
        """Fail the next chat requests, in arrival order, with ``faults``."""
        assert self._loop is not None, "start the server first"
        self._loop.call_soon_threadsafe(self._queued.extend, faults)
        # call_soon_threadsafe runs on the server loop; wait until it has
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0), self._loop).result(timeout=5)

    @property
    def faults_served(self) -> int:
        return sum(self.faults.values())

    # -- HTTP ----------------------------------------------------------------------

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)  # type: ignore[arg-type]
        try:
            while True:
                request = await asyncio.wait_for(self._read_request(reader), self.idle_timeout_s)
                if request is None or not await self._respond(request, writer):
                    break
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._handlers.discard(task)  # type: ignore[arg-type]
            writer.close()

    @staticmethod
    async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
        request_line = await reader.readline()
        if not request_line:
            return None
        method, path, _version = request_line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        return _Request(method, path.split("?")[0], headers, body)

    @staticmethod
    async def _write(
        writer: asyncio.StreamWriter, status: int, payload: Any, extra_headers: dict[str, str] | None = None
    ) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        head = [
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
            "Content-Type: application/json",
            f"Content-Length: {len(body)}",
            "Connection: keep-alive",
            *(f"{name}: {value}" for name, value in (extra_headers or {}).items()),
        ]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()

    async def _respond(self, request: _Request, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False closes the connection."""
        if (request.method, request.path) == ("GET", "/v1/models"):
            models = {"object": "list", "data": [{"id": self.model, "object": "model", "owned_by": "fake"}]}
            await self._write(writer, 200, models)
            return True
        if (request.method, request.path) != ("POST", "/v1/chat/completions"):
            await self._write(writer, 404, _error(f"no route for {request.method} {request.path}"))
            return True
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._chat(request, writer)
        finally:
            self.in_flight -= 1

    async def _chat(self, request: _Request, writer: asyncio.StreamWriter) -> bool:
        body = json.loads(request.body)
        self.chat_bodies.append(body)
        self.chat_headers.append(request.headers)
        authorization = request.headers.get("authorization", "")
        if self.api_key is not None and authorization != f"Bearer {self.api_key}":
            await self._write(writer, 401, _error(f"invalid API key in header {authorization!r}"))
            return True
        fault = self._next_fault()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if fault is not None:
            self.faults[fault.label] += 1
            return await self._misbehave(fault, writer)
        if self.require_max_completion_tokens and "max_tokens" in body:
            message = "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead."
            await self._write(writer, 400, _error(message))
            return True
        answered = self.answer(body["messages"])
        n = body.get("n", 1)
        texts = (
            [answered] * n if isinstance(answered, str) else [answered[i % len(answered)] for i in range(n)]
        )
        prompt_tokens = sum(len(str(message["content"]).split()) for message in body["messages"])
        completion_tokens = sum(len(text.split()) for text in texts)
        self.completions += 1
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens
        choices = []
        for index, text in enumerate(texts):
            choice: dict[str, Any] = {
                "index": index,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
            }
            if body.get("logprobs"):
                choice["logprobs"] = openai_logprobs(text, self.token_logprob, body.get("top_logprobs", 0))
            choices.append(choice)
        completion = {
            "id": f"chatcmpl-{self.completions}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", self.model),
            "choices": choices,
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        await self._write(writer, 200, completion)
        return True

    def _next_fault(self) -> Fault | None:
        if self._queued:
            return self._queued.pop(0)
        if self.fault_rate and self._random.random() < self.fault_rate:
            return self._random.choice(self.random_faults)
        return None

    async def _misbehave(self, fault: Fault, writer: asyncio.StreamWriter) -> bool:
        if fault.kind == "status":
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else None
            await self._write(writer, fault.status, _error(f"injected HTTP {fault.status}"), headers)
            return True
        if fault.kind == "slow":
            await asyncio.sleep(fault.delay_s)
            await self._write(writer, 200, _error("too late: the client should have timed out"))
            return False
        if fault.kind == "malformed":
            await self._write(writer, 200, b'{"id": "chatcmpl-broken", "choices": [{"index": 0, "mess')
            return True
        return False  # drop: hang up without answering


def _error(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "code": None}}
