"""The local OpenAI-compatible server the HTTP benchmarks measure against, and the bare client of their floor.

``serving(latency, prompt_tokens=...)`` runs the server on 127.0.0.1 in its own process, so that
its CPU is not counted with the benchmark's, and yields its port. It speaks
just enough HTTP/1.1 (keep-alive, ``Content-Length`` bodies): ``GET
/v1/models`` lists ``MODEL``; any other request is a chat completion, answered
with one fixed completion (``ANSWER``) after the latency, in request order.
``GET /stats`` (``server_stats``) says how many completions it answered, when
the first request arrived and when the last answer left; ``/stats/reset`` says
so and starts the count again.

Not tests/fake_openai_server.py: that one is for tests (faults, an answer per
request, a thread in the test's own process); this one runs apart from the
process it measures and does as little as it can per request.

Shared by run_cli.py and http_client.py, which import it as ``_fake_server``
(a script's folder is on ``sys.path``; benchmarks/ is not a package).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

MODEL = "bench-model"
ANSWER = "17 * 23 = 391.\n#### 391"
MODELS = json.dumps(
    {"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "bench"}]}
).encode()


def chat_completion(prompt_tokens: int) -> bytes:
    """The one answer to every chat request; ``usage`` counts ``prompt_tokens`` in (the benchmark's prompt)."""
    return json.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1700000000,
            "model": MODEL,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop"}
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": 9,
                "total_tokens": prompt_tokens + 9,
            },
        }
    ).encode()


# -- the server (its own process) ---------------------------------------------------------------


class _Stats:
    """Chat completions answered, and when the first arrived and the last left (``time.monotonic``)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.first: float | None = None
        self.last: float | None = None

    def as_json(self) -> bytes:
        return json.dumps({"requests": self.requests, "first": self.first, "last": self.last}).encode()


class _ServerProtocol(asyncio.Protocol):
    """Just enough HTTP/1.1: Content-Length bodies, keep-alive, each answer after the latency."""

    def __init__(self, latency: float, completion: bytes, stats: _Stats) -> None:
        self.latency = latency
        self.completion = completion
        self.stats = stats
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = self.buffer[:head_end].decode("latin-1")
            length = 0
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if len(self.buffer) < head_end + 4 + length:
                return
            self.buffer = self.buffer[head_end + 4 + length :]
            method, path = head.split(" ", 2)[:2]
            if path.startswith("/stats"):
                self._send(self.stats.as_json())
                if path.startswith("/stats/reset"):
                    self.stats.reset()
            elif method == "GET" and path.startswith("/v1/models"):
                self._send(MODELS)
            else:
                self.stats.first = self.stats.first or time.monotonic()
                asyncio.get_running_loop().call_later(self.latency, self._answer)

    def _answer(self) -> None:
        self.stats.requests += 1
        self.stats.last = time.monotonic()
        self._send(self.completion)

    def _send(self, body: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            self.transport.write(head.encode("latin-1") + body)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


def _serve(latency: float, prompt_tokens: int, port_queue: Any) -> None:
    async def main() -> None:
        stats = _Stats()
        completion = chat_completion(prompt_tokens)
        server = await asyncio.get_running_loop().create_server(
            lambda: _ServerProtocol(latency, completion, stats), "127.0.0.1", 0, backlog=8192
        )
        port_queue.put(server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()

    asyncio.run(main())


@contextmanager
def serving(latency: float, *, prompt_tokens: int) -> Iterator[int]:
    """The server in its own process, answering after ``latency`` seconds; yields its port, stops it on exit."""
    ports: Any = multiprocessing.Queue()
    server = multiprocessing.Process(target=_serve, args=(latency, prompt_tokens, ports), daemon=True)
    server.start()
    try:
        yield ports.get(timeout=30)
    finally:
        server.terminate()


def server_stats(port: int, *, reset: bool) -> dict[str, Any]:
    path = "/stats/reset" if reset else "/stats"
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
        return json.loads(answer.read())


# -- the floor's client ---------------------------------------------------------------------------


def keep_alive_client(base_url: str, body: dict[str, Any]) -> Callable[[], Awaitable[str]]:
    """A minimal asyncio HTTP/1.1 client that posts ``body`` to ``/chat/completions``; returns the reply's text.

    One keep-alive connection per concurrent call, taken from an idle list: the
    least a client can do per request, against which the others are measured.
    """
    host, port = base_url.split("//")[1].split("/")[0].split(":")
    payload = json.dumps(body).encode()
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def call() -> str:
        connection = idle.pop() if idle else await asyncio.open_connection(host, int(port))
        reader, writer = connection
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        completion = json.loads(await reader.readexactly(length))
        idle.append(connection)
        return completion["choices"][0]["message"]["content"]

    return call
