"""HTTP client overhead: CPU per chat request against a local OpenAI-compatible server.

A lean asyncio server runs in its own process (its CPU is not counted) and
answers ``POST /v1/chat/completions`` with a small fixed completion after
``--latency`` seconds, and ``GET /v1/models``. Each client configuration runs
in a fresh interpreter: it opens its connections with one warm-up wave of C
requests, then sends R requests with C in flight and reports wall time and
process CPU per request (``time.process_time``). Clients:

- ``bare``: a minimal asyncio HTTP/1.1 client, one keep-alive connection per
  in-flight slot, ``json.loads`` of the body: the floor;
- ``openai``: ``openai.AsyncOpenAI().chat.completions.create`` with the
  client's default settings;
- ``openai-tuned``: the same call on one client built as ``OpenAIEndpoint``
  builds each of its clients, with one pool of C connections (no retries):
  how ``OpenAIEndpoint`` sent every request before it spread them over
  clients with small pools;
- ``openai-raw``: the tuned client's ``with_raw_response`` and ``json.loads``
  (no pydantic models for the completion);
- ``openai-aiohttp``: the typed ``create()`` on ``AsyncOpenAI`` with
  ``http_client=openai.DefaultAioHttpClient(...)`` (the ``openai[aiohttp]``
  extra), a pool of C connections, no retries;
- ``openai-aiohttp-post``: that client's plain ``post(..., cast_to=str)`` and
  ``json.loads`` (no parameter transform, no pydantic model of the answer);
- ``aiohttp``: plain ``aiohttp.ClientSession.post`` on one session with a
  ``TCPConnector`` of C connections, ``json.loads`` of the body;
- ``backend``: ``OpenAIBackend(...).generate([ChatRequest])`` with default
  settings (the ``openai`` transport): what the framework pays per message;
- ``endpoint-lean``: ``OpenAIEndpoint(transport="lean").generate_one``
  alone, without the retry and concurrency-cap wrappers;
- ``backend-lean``: ``OpenAIBackend(transport="lean")``: our own asyncio
  HTTP/1.1 transport behind the same endpoint, retries and caps.

Usage::

    python benchmarks/http_client.py                                # the default table
    python benchmarks/http_client.py --clients bare backend --in-flight 1000 --json http.json
    python benchmarks/http_client.py --profile openai --in-flight 1000   # cProfile, top entries

Requests per configuration are ``min(--requests, C * --max-waves)``, so that
the low-concurrency rows do not take minutes of pure waiting.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import platform
import pstats
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from _fake_server import ANSWER, MODEL, keep_alive_client, serving

CLIENTS = (
    "bare",
    "openai",
    "openai-tuned",
    "openai-raw",
    "openai-aiohttp",
    "openai-aiohttp-post",
    "aiohttp",
    "backend",
    "endpoint-lean",
    "backend-lean",
)
MESSAGES = [
    {"role": "system", "content": "You are a careful debater."},
    {"role": "user", "content": "What is 17 * 23? Answer in one line."},
]


# -- the clients -----------------------------------------------------------------------------


async def bare_client(base_url: str, in_flight: int) -> Callable[[], Awaitable[str]]:
    """One keep-alive connection per in-flight slot, taken from an idle list."""
    return keep_alive_client(base_url, {"model": MODEL, "messages": MESSAGES, "max_tokens": 64})


async def openai_client(
    base_url: str, in_flight: int, *, tuned: bool, raw: bool
) -> Callable[[], Awaitable[str]]:
    import openai

    if tuned:
        from debate.agents.backends.openai import OpenAIEndpoint

        client = OpenAIEndpoint(base_url)._new_client(max_connections=in_flight)
    else:
        client = openai.AsyncOpenAI(base_url=base_url, api_key="EMPTY")
    create = client.chat.completions.with_raw_response.create if raw else client.chat.completions.create

    async def call() -> str:
        answer = await create(model=MODEL, messages=MESSAGES, max_tokens=64)  # type: ignore[arg-type]
        if raw:
            return json.loads(answer.content)["choices"][0]["message"]["content"]
        return answer.choices[0].message.content  # type: ignore[union-attr]

    return call


async def openai_aiohttp_client(base_url: str, in_flight: int, *, post: bool) -> Callable[[], Awaitable[str]]:
    import openai

    limits = type(openai.DEFAULT_CONNECTION_LIMITS)(
        max_connections=in_flight, max_keepalive_connections=in_flight
    )
    client = openai.AsyncOpenAI(
        base_url=base_url,
        api_key="EMPTY",
        max_retries=0,
        http_client=openai.DefaultAioHttpClient(limits=limits),
    )
    body = {"model": MODEL, "messages": MESSAGES, "max_tokens": 64}

    async def call() -> str:
        if post:
            text = await client.post("/chat/completions", body=body, cast_to=str)
            return json.loads(text)["choices"][0]["message"]["content"]
        answer = await client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=64)  # type: ignore[arg-type]
        return answer.choices[0].message.content  # type: ignore[return-value]

    return call


async def aiohttp_client(base_url: str, in_flight: int) -> Callable[[], Awaitable[str]]:
    import aiohttp

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=in_flight))
    url = f"{base_url}/chat/completions"
    body = json.dumps({"model": MODEL, "messages": MESSAGES, "max_tokens": 64}).encode()
    headers = {"Content-Type": "application/json", "Authorization": "Bearer EMPTY"}

    async def call() -> str:
        async with session.post(url, data=body, headers=headers) as response:
            completion = json.loads(await response.read())
        return completion["choices"][0]["message"]["content"]

    return call


async def backend_client(
    base_url: str, in_flight: int, *, transport: str | None, wrapped: bool = True
) -> Callable[[], Awaitable[str]]:
    from debate.agents.backends import ChatMessage, ChatRequest
    from debate.agents.backends.openai import OpenAIBackend, OpenAIEndpoint

    from debate import SamplingParams

    options = {"transport": transport} if transport else {}  # none: the default of the code under test
    if wrapped:
        backend: Any = OpenAIBackend(base_url, model=MODEL, max_concurrency=in_flight, **options)
    else:
        backend = OpenAIEndpoint(base_url, model=MODEL, max_connections=in_flight, **options)
    request = ChatRequest(
        messages=[ChatMessage(**message) for message in MESSAGES], sampling=SamplingParams(max_tokens=64)
    )

    async def call() -> str:
        [response] = await backend.generate([request])
        return response.text

    return call


def make_client(kind: str, base_url: str, in_flight: int) -> Awaitable[Callable[[], Awaitable[str]]]:
    if kind == "bare":
        return bare_client(base_url, in_flight)
    if kind.startswith("openai-aiohttp"):
        return openai_aiohttp_client(base_url, in_flight, post=kind == "openai-aiohttp-post")
    if kind == "aiohttp":
        return aiohttp_client(base_url, in_flight)
    if kind.startswith("openai"):
        return openai_client(base_url, in_flight, tuned=kind != "openai", raw=kind == "openai-raw")
    if kind == "endpoint-lean":
        return backend_client(base_url, in_flight, transport="lean", wrapped=False)
    return backend_client(base_url, in_flight, transport="lean" if kind == "backend-lean" else None)


async def measure(
    kind: str, base_url: str, in_flight: int, requests: int, profile: bool = False
) -> dict[str, Any]:
    call = await make_client(kind, base_url, in_flight)
    assert await call() == ANSWER, "the client got a wrong answer"
    await asyncio.gather(*(call() for _ in range(in_flight)))  # warm-up: opens the connections
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await call()

    profiler = cProfile.Profile() if profile else None
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    if profiler:
        profiler.disable()
    wall, cpu = time.perf_counter() - started_wall, time.process_time() - started_cpu
    row: dict[str, Any] = {
        "client": kind,
        "in_flight": in_flight,
        "requests": requests,
        "wall_s": wall,
        "cpu_s": cpu,
        "cpu_ms_per_request": 1000 * cpu / requests,
    }
    if profiler:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(40)
        row["profile"] = text.getvalue()
    return row


def in_subprocess(**params: Any) -> dict[str, Any]:
    """One configuration in a fresh interpreter, so that no pool, cache or import is shared."""
    completed = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(params)], capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{params}: child failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for package in ("openai", "aiohttp", "httpx", "httpx2", "httpcore", "httpcore2", "pydantic", "tenacity"):
        with contextlib.suppress(PackageNotFoundError):
            found[package] = version(package)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", nargs="+", choices=CLIENTS, default=list(CLIENTS))
    parser.add_argument("--in-flight", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--requests", type=int, default=3000, help="requests per configuration (at most)")
    parser.add_argument("--max-waves", type=int, default=20, help="at most C * this many requests per row")
    parser.add_argument(
        "--latency", type=float, default=0.2, help="seconds the server waits before answering"
    )
    parser.add_argument(
        "--profile", choices=CLIENTS, help="cProfile this client instead and print its top entries"
    )
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(asyncio.run(measure(**json.loads(args.child)))))
        return 0

    with serving(args.latency, prompt_tokens=25) as port:
        base_url = f"http://127.0.0.1:{port}/v1"
        if args.profile:
            for in_flight in args.in_flight:
                requests = min(args.requests, in_flight * args.max_waves)
                row = in_subprocess(
                    kind=args.profile, base_url=base_url, in_flight=in_flight, requests=requests, profile=True
                )
                print(
                    f"{args.profile} at {in_flight} in flight, {row['cpu_ms_per_request']:.3f} ms CPU/request"
                )
                print(row["profile"])
            return 0
        print(
            f"server latency {args.latency * 1000:.0f} ms, {platform.processor() or platform.machine()}, {versions()}"
        )
        print(f"{'client':>13} {'in-flight':>9} {'requests':>8} {'wall s':>7} {'CPU ms/request':>14}")
        rows = []
        for in_flight in args.in_flight:
            requests = min(args.requests, in_flight * args.max_waves)
            for kind in args.clients:
                row = in_subprocess(kind=kind, base_url=base_url, in_flight=in_flight, requests=requests)
                rows.append(row)
                print(
                    f"{kind:>13} {in_flight:>9} {requests:>8} {row['wall_s']:>7.2f} {row['cpu_ms_per_request']:>14.3f}",
                    flush=True,
                )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            config = {name: value for name, value in vars(args).items() if name != "child"}
            json.dump({"config": config, "versions": versions(), "results": rows}, handle, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
