"""Chat completions from any OpenAI-compatible server: vLLM, SGLang, llama.cpp, Ollama, OpenAI.

Two layers:

- ``OpenAIEndpoint`` is one server: one request per call, no retries, one
  shared HTTP connection pool (sized to the concurrency cap, if any). It only turns the
  server's answer (or failure) into a ``ChatResponse`` or a typed error:
  ``TransientBackendError`` when trying again may help, ``RequestRejectedError``
  when it cannot.
- ``OpenAIBackend`` is what users construct: endpoints for one model, each
  behind a concurrency cap if one is given, load balanced when there are several, under one
  retry policy. Each of those behaviours is a wrapper from this package, so
  they can be tested, tuned or reused (around vLLM or transformers backends)
  on their own.

The API key is read from the environment variable named by ``key_env`` and
held as a ``SecretStr`` (stars in any ``repr``, ``str`` or dump of the
backend); error messages are built without it, and redact it where a server
echoes it back.

Requests travel by one of two transports. ``"lean"`` (the default) is this
package's own asyncio HTTP/1.1 client (``openai_transport``). ``"openai"`` is
the ``openai`` package's client, spread over several clients with small
connection pools (httpcore scans its whole pool on every request). Measured
per request on one core (docs/benchmarks.md, "Choosing the default
transport"): lean 0.05-0.1 ms of CPU, plain ``aiohttp`` about 0.24 ms, the
``openai`` client 0.7-1.3 ms (on httpx or on aiohttp alike); a debate run
whose framework budget is a fraction of a millisecond per call cannot afford
either library, so the lean client is the default and the ``openai`` client
stays one parameter away (``transport="openai"``, ``?transport=openai``) for
what only it does (proxies from the environment, its own auth hooks). Both
turn failures into the same typed errors.

There is no client-side cap on requests in flight unless one is asked for
(``max_concurrency``): a local vLLM server batches hundreds of sequences and
queues the rest itself, and a hosted API says when to slow down with 429 and
``Retry-After``, which the retry policy honours. How many requests a run has
in flight is set by its debates in flight (``debate run --concurrency``).

The ``openai`` package is imported on first use, so resolving any backend URI
(which imports this module to register its schemes) stays cheap.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import math
import os
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Literal, TypeVar, get_args
from urllib.parse import parse_qsl, urlsplit

from debate.agents.backends import register_scheme
from debate.agents.backends._loop_local import LoopLocal
from debate.agents.backends._uri import parse_params, positive_float, positive_int, text
from debate.agents.backends.balancing import LoadBalancedBackend
from debate.agents.backends.base import Backend, BackendError, ChatRequest, ChatResponse, Completion
from debate.agents.backends.concurrency import ConcurrencyLimitedBackend
from debate.agents.backends.openai_transport import HTTPConnectionPool, HTTPResponse
from debate.agents.backends.per_request import PerRequestBackend, serve_one
from debate.agents.backends.retrying import RetryingBackend, RetryPolicy, TransientBackendError
from pydantic import SecretStr

from debate.logprobs import TokenLogprob
from debate.messages import SamplingParams, Usage

if TYPE_CHECKING:
    import openai

try:  # a fast JSON library, where one is installed (langsmith, which LangGraph imports, brings it): optional
    import orjson
except ImportError:  # pragma: no cover - exercised where orjson is missing
    orjson = None  # type: ignore[assignment]

T = TypeVar("T")

logger = logging.getLogger(__name__)

NO_KEY = "EMPTY"
"""Sent when no key is configured: local servers ignore it, the client requires one."""

DEFAULT_RETRY = RetryPolicy()

MaxTokensField = Literal["max_tokens", "max_completion_tokens"]
"""Which field carries ``SamplingParams.max_tokens``: OpenAI's newer models take only ``max_completion_tokens``."""

NEWER_FIELD_HOSTS = ("api.openai.com",)
"""Hosts sent ``max_completion_tokens`` by default; other servers get ``max_tokens``, which every one of them reads."""

Transport = Literal["openai", "lean"]
"""How requests travel: the ``openai`` package's client, or our own lean asyncio HTTP/1.1 client."""

DEFAULT_TRANSPORT: Transport = "lean"
"""The cheapest by far per request (see the module docstring); ``"openai"`` is one parameter away."""

CONNECTIONS_PER_CLIENT = 16
"""Pool size of each ``openai`` client: httpcore's per-request work grows with the pool, so pools stay small."""

OPENAI_TRANSPORT_CONNECTIONS = 1024
"""Connections of the ``openai`` transport when no ``max_connections`` is given (its pools need a size)."""

RETRYABLE_STATUSES = frozenset({408, 409, 429})
"""Besides every 5xx: timeouts, conflicts and rate limits pass with time."""

STATUS_HINTS = {
    400: "the server rejected the request: is the prompt longer than the model's context, or a sampling parameter unsupported?",
    401: "check the API key: set the environment variable named by key_env",
    403: "the API key is not allowed to use this model or endpoint",
    404: "check base_url (OpenAI-compatible servers usually serve under /v1) and the model name",
    422: "the server could not process the request body; a sampling parameter may be unsupported by this server",
}


class RequestRejectedError(BackendError):
    """The server refused the request itself (4xx other than 408/409/429): retrying cannot help."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


def openai_sampling(
    sampling: SamplingParams, max_tokens_field: MaxTokensField = "max_tokens"
) -> dict[str, Any]:
    """Our sampling parameters as chat-completions fields (defaults left out, as servers differ on them)."""
    fields: dict[str, Any] = {
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        max_tokens_field: sampling.max_tokens,
    }
    if sampling.n != 1:
        fields["n"] = sampling.n
    if sampling.seed is not None:
        fields["seed"] = sampling.seed
    if sampling.stop:
        fields["stop"] = list(sampling.stop)
    if sampling.logprobs:
        fields["logprobs"] = True
    if sampling.top_logprobs:
        fields["top_logprobs"] = sampling.top_logprobs
    return fields


def choice_logprobs(choice: Mapping[str, Any]) -> list[TokenLogprob] | None:
    """A choice's ``logprobs.content`` (OpenAI's format, which vLLM and SGLang serve too) as our tokens."""
    content = (choice.get("logprobs") or {}).get("content")
    if content is None:
        return None
    return [
        TokenLogprob(
            token=entry["token"],
            logprob=entry["logprob"],
            top_logprobs=[(top["token"], top["logprob"]) for top in entry.get("top_logprobs") or ()],
        )
        for entry in content
    ]


def default_max_tokens_field(base_url: str) -> MaxTokensField:
    return "max_completion_tokens" if urlsplit(base_url).hostname in NEWER_FIELD_HOSTS else "max_tokens"


def max_tokens_field_name(value: str) -> MaxTokensField:
    """``value`` checked against the fields that can carry ``max_tokens`` (for constructors and URIs alike)."""
    if value not in get_args(MaxTokensField):
        raise ValueError(f"max_tokens_field {value!r} is not one of {list(get_args(MaxTokensField))}")
    return value  # type: ignore[return-value]


def asks_for_max_completion_tokens(error: RequestRejectedError) -> bool:
    """A 400 that says this model takes ``max_completion_tokens`` (OpenAI's wording for its newer models)."""
    return error.status == 400 and "max_completion_tokens" in str(error)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """How long a server asked us to wait: ``retry-after-ms``, or ``Retry-After`` in seconds or as an HTTP date."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def read_api_key(key_env: str | None) -> SecretStr | None:
    if key_env is None:
        return None
    key = os.environ.get(key_env)
    if not key:
        raise ValueError(
            f"key_env: environment variable {key_env!r} is not set (or empty); export your API key in it"
        )
    return SecretStr(key)


def transport_name(value: str) -> Transport:
    """``value`` checked against the known transports (for constructors and URIs alike)."""
    if value not in get_args(Transport):
        raise ValueError(f"transport {value!r} is not one of {list(get_args(Transport))}")
    return value  # type: ignore[return-value]


def request_json(body: dict[str, Any]) -> bytes:
    """A request body as JSON: by orjson where it is installed (about 10x faster on a prompt of a few KB), else json.

    The two differ only in spelling (orjson writes UTF-8 where json escapes
    non-ASCII characters); what orjson would write differently from json
    (infinite floats: ``null`` instead of ``Infinity``) or refuses (integers
    beyond 64 bits, lone surrogates) goes to json, so servers read the same
    values either way.
    """
    if orjson is not None and not _has_non_finite_float(body):
        try:
            return orjson.dumps(body)
        except TypeError:  # orjson.JSONEncodeError
            pass
    return json.dumps(body).encode()


def _has_non_finite_float(body: dict[str, Any]) -> bool:
    """Whether a request body's top-level sampling fields hold an infinite or NaN float (messages hold only text)."""
    return any(type(value) is float and not math.isfinite(value) for value in body.values())


def error_message(body: str) -> str | None:
    """The ``message`` of an OpenAI-style error body (``{"error": {"message": ...}}``), if it is one."""
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    error = parsed.get("error", parsed) if isinstance(parsed, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return str(message) if message else None


class OpenAIClients:
    """Several ``openai`` clients sharing one endpoint's connections, each with a small pool.

    httpcore walks its whole pool on each request and each response, so one
    client with 1,000 connections spends milliseconds of CPU per request on
    bookkeeping. Pools of ``CONNECTIONS_PER_CLIENT`` keep that walk short.
    Each request goes to the client with the fewest in flight, and a new
    client is made (up to ``max_connections`` connections in all) only when
    every pool is full, so as long as at most ``max_connections`` requests run
    at once none waits for a connection, and a run with few in flight builds
    few clients.
    """

    def __init__(self, new_client: Callable[[int], openai.AsyncOpenAI], max_connections: int) -> None:
        self.max_clients = math.ceil(max_connections / CONNECTIONS_PER_CLIENT)
        self.pool_size = math.ceil(max_connections / self.max_clients)
        self.new_client = new_client
        self.clients: list[openai.AsyncOpenAI] = []
        self.in_flight: list[int] = []

    @contextmanager
    def lease(self) -> Iterator[openai.AsyncOpenAI]:
        fewest = min(self.in_flight, default=self.pool_size)
        if fewest >= self.pool_size and len(self.clients) < self.max_clients:
            self.clients.append(self.new_client(self.pool_size))
            self.in_flight.append(0)
            fewest = 0
        index = self.in_flight.index(fewest)
        self.in_flight[index] += 1
        try:
            yield self.clients[index]
        finally:
            self.in_flight[index] -= 1

    async def aclose(self) -> None:
        for client in self.clients:
            await client.close()


class OpenAIEndpoint(PerRequestBackend):
    """One OpenAI-compatible server at ``base_url`` (e.g. ``http://localhost:8000/v1``).

    ``model`` is used for requests that name none; when both are missing, the
    server's only model (from ``GET /models``) is used, which suits
    ``vllm serve``. ``max_connections`` caps the open connections (requests
    beyond it wait for one); ``None`` opens as many as there are requests in
    flight (the ``openai`` transport then pools ``OPENAI_TRANSPORT_CONNECTIONS``).
    The openai client's own retries are off: failures surface
    at once, typed, for ``RetryingBackend`` to handle and count.
    ``transport`` picks the HTTP client (see the module docstring); both
    send the same requests and raise the same errors. ``max_tokens_field``
    names the field that carries ``SamplingParams.max_tokens``; by default
    ``max_completion_tokens`` for api.openai.com and ``max_tokens`` elsewhere,
    and an endpoint whose server refuses ``max_tokens`` naming
    ``max_completion_tokens`` switches to it and sends the request again.
    """

    def __init__(
        self,
        base_url: str,
        *,
        model: str | None = None,
        key_env: str | None = None,
        max_connections: int | None = None,
        timeout_s: float = 300.0,
        transport: Transport | None = None,
        max_tokens_field: MaxTokensField | None = None,
        name: str | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url {base_url!r} must start with http:// or https://")
        if max_connections is not None and max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, got {max_connections}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.key_env = key_env
        self.max_connections = max_connections
        self.timeout_s = timeout_s
        self.transport = transport_name(transport or DEFAULT_TRANSPORT)
        self.max_tokens_field = max_tokens_field_name(
            max_tokens_field or default_max_tokens_field(self.base_url)
        )
        self.name = name or self.base_url
        self._warned_no_logprobs = False
        self._api_key = read_api_key(key_env)
        self._clients: LoopLocal[OpenAIClients | HTTPConnectionPool] = LoopLocal(self._new_clients)
        self._model_lookup = LoopLocal(asyncio.Lock)
        self._served_model: str | None = None

    def __repr__(self) -> str:
        return (
            f"OpenAIEndpoint({self.base_url!r}, model={self.model!r}, key_env={self.key_env!r}, "
            f"transport={self.transport!r})"
        )

    def _key(self) -> str:
        return self._api_key.get_secret_value() if self._api_key else NO_KEY

    @property
    def _connect_timeout_s(self) -> float:
        return min(self.timeout_s, 10.0)

    def _new_clients(self) -> OpenAIClients | HTTPConnectionPool:
        if self.transport == "lean":
            return HTTPConnectionPool(
                self.base_url,
                max_connections=self.max_connections,
                timeout_s=self.timeout_s,
                connect_timeout_s=self._connect_timeout_s,
                headers={"Authorization": f"Bearer {self._key()}"},
            )
        return OpenAIClients(self._new_client, self.max_connections or OPENAI_TRANSPORT_CONNECTIONS)

    def _new_client(self, max_connections: int) -> openai.AsyncOpenAI:
        import openai

        # Built from what openai exports, so the pool is of whichever HTTP library (httpx, httpx2) it runs on.
        limits = type(openai.DEFAULT_CONNECTION_LIMITS)(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
        timeout = openai.Timeout(self.timeout_s, connect=self._connect_timeout_s)
        return openai.AsyncOpenAI(
            base_url=self.base_url,
            api_key=self._key(),
            max_retries=0,
            timeout=timeout,
            http_client=openai.DefaultAsyncHttpxClient(limits=limits, timeout=timeout),
        )

    async def aclose(self) -> None:
        """Close the running event loop's connections."""
        clients = self._clients.pop_current()
        if clients is not None:
            await clients.aclose()

    async def generate_one(self, request: ChatRequest) -> ChatResponse:
        model = request.model or self.model or await self.served_model()
        started = time.perf_counter()
        try:
            completion = await self._chat_completion(self._body(request, model))
        except RequestRejectedError as error:
            if self.max_tokens_field != "max_tokens" or not asks_for_max_completion_tokens(error):
                raise
            logger.info("%s: the server takes max_completion_tokens, not max_tokens; switching", self.name)
            self.max_tokens_field = "max_completion_tokens"
            started = time.perf_counter()
            completion = await self._chat_completion(self._body(request, model))
        latency = time.perf_counter() - started
        try:
            choices = sorted(completion["choices"], key=lambda choice: choice.get("index", 0))
            completions = [self._completion(choice, request) for choice in choices]
            usage = completion.get("usage") or {}
            prompt_tokens, completion_tokens = (
                usage.get("prompt_tokens") or 0,
                usage.get("completion_tokens") or 0,
            )
            response = ChatResponse.of_completions(
                completions,
                model=completion.get("model") or model,
                usage=Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens),
                latency_s=latency,
            )
        except (AttributeError, IndexError, KeyError, TypeError, ValueError) as error:
            raise TransientBackendError(
                f"{self.name}: malformed completion ({error!r})", kind="malformed"
            ) from None
        return response

    def _body(self, request: ChatRequest, model: str) -> dict[str, Any]:
        return {
            "model": model,
            "messages": request.chat(),
            **openai_sampling(request.sampling, self.max_tokens_field),
        }

    def _completion(self, choice: Mapping[str, Any], request: ChatRequest) -> Completion:
        text_ = choice["message"]["content"] or ""
        if not isinstance(text_, str):
            raise TypeError(f"content is a {type(text_).__name__}, not text")
        logprobs = choice_logprobs(choice) if request.sampling.logprobs else None
        if request.sampling.logprobs and logprobs is None and not self._warned_no_logprobs:
            self._warned_no_logprobs = True
            logger.warning(
                "%s: logprobs were asked for but the server returned none; messages will have no logprobs",
                self.name,
            )
        return Completion(text=text_, logprobs=logprobs)

    async def list_models(self) -> list[str]:
        """The model names the server serves (``GET /models``)."""
        clients = self._clients.get()
        if isinstance(clients, HTTPConnectionPool):
            page = self._json(await self._lean_call(clients.request("GET", "/models")))
            return [model["id"] for model in page["data"]]
        with clients.lease() as client:
            models = await self._call(client.models.list())
        return [model.id for model in models.data]

    async def served_model(self) -> str:
        """The server's only model, looked up once."""
        if self._served_model is None:
            async with self._model_lookup.get():
                if self._served_model is None:
                    models = await self.list_models()
                    if len(models) != 1:
                        raise BackendError(
                            f"{self.name}: no model given and the server serves {models or 'none'}; "
                            "pass model=NAME (or ?model=NAME in the URI)"
                        )
                    self._served_model = models[0]
        return self._served_model

    async def _chat_completion(self, body: dict[str, Any]) -> Any:
        """The server's completion as parsed JSON; pydantic models of it would cost CPU and tell us nothing more."""
        clients = self._clients.get()
        if isinstance(clients, HTTPConnectionPool):
            # The lean call inline (not through _lean_call): one coroutine less on every resumption.
            try:
                response = await clients.request("POST", "/chat/completions", request_json(body))
            except (TimeoutError, OSError, EOFError, ValueError, asyncio.LimitOverrunError) as error:
                failure, cause = self._lean_failure(error)
                raise failure from cause
            if response.status >= 400:
                raise self._status_error(response.status, response.text, response.headers)
            return self._json(response.body)
        with clients.lease() as client:
            # The client's plain POST (its documented way to reach any endpoint) skips the typed create()'s
            # transform of every parameter and its pydantic model of the answer: a third of the client's CPU.
            text_ = await self._call(client.post("/chat/completions", body=body, cast_to=str))
        return self._json(text_)

    def _json(self, body: bytes | str) -> Any:
        if orjson is not None:  # about 3x faster than json.loads on a completion
            try:
                return orjson.loads(body)
            except ValueError:  # orjson.JSONDecodeError: json decides (it also reads NaN, huge ints, UTF-16)
                pass
        try:
            return json.loads(body)
        except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
            raise self._malformed(error) from None

    # -- one wording per failure, whichever transport met it ---------------------------

    def _timed_out(self) -> TransientBackendError:
        return TransientBackendError(f"{self.name}: no answer within {self.timeout_s}s", kind="timeout")

    def _connection_failed(self, cause: BaseException) -> TransientBackendError:
        return TransientBackendError(
            f"{self.name}: connection failed ({type(cause).__name__}: {cause})", kind="connection"
        )

    def _malformed(self, error: Exception) -> TransientBackendError:
        return TransientBackendError(f"{self.name}: malformed response ({error})", kind="malformed")

    async def _lean_call(self, call: Awaitable[HTTPResponse]) -> bytes:
        """Await a lean-transport request, turning failures and error statuses into our typed errors."""
        try:
            response = await call
        except (TimeoutError, OSError, EOFError, ValueError, asyncio.LimitOverrunError) as error:
            failure, cause = self._lean_failure(error)
            raise failure from cause
        if response.status >= 400:
            raise self._status_error(response.status, response.text, response.headers)
        return response.body

    def _lean_failure(self, error: Exception) -> tuple[TransientBackendError, BaseException | None]:
        """A lean-transport failure as our typed error, and the cause to chain it to (``None``: none shown)."""
        if isinstance(error, TimeoutError):  # before OSError, of which it is a subclass
            return self._timed_out(), None
        if isinstance(error, (OSError, EOFError)):  # refused, reset, or the server hung up mid-answer
            return self._connection_failed(error), error
        return TransientBackendError(f"{self.name}: malformed HTTP answer ({error})", kind="malformed"), None

    async def _call(self, call: Awaitable[T]) -> T:
        """Await an openai client call, turning its failures into our typed errors."""
        import openai

        try:
            return await call
        except openai.APIStatusError as error:
            # not chained: the server's text may quote the key
            raise self._status_error(error.status_code, error.response.text, error.response.headers) from None
        except openai.APITimeoutError:
            raise self._timed_out() from None
        except openai.APIConnectionError as error:
            raise self._connection_failed(error.__cause__ or error) from error
        except json.JSONDecodeError as error:
            raise self._malformed(error) from None

    def _status_error(self, status: int, body: str, headers: Mapping[str, str]) -> BackendError:
        detail = self._redact((error_message(body) or body)[:500])
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        message = f"{self.name}: HTTP {status} {phrase}: {detail}"
        if status in RETRYABLE_STATUSES or status >= 500:
            return TransientBackendError(
                message,
                kind="rate_limited" if status == 429 else "server_error",
                status=status,
                retry_after_s=retry_after_seconds(headers),
            )
        hint = STATUS_HINTS.get(status)
        return RequestRejectedError(f"{message} ({hint})" if hint else message, status=status)

    def _redact(self, message: str) -> str:
        return message.replace(self._api_key.get_secret_value(), "***") if self._api_key else message


class OpenAIBackend:
    """One model served by one or more OpenAI-compatible endpoints, with retries, caps and fail-over.

    ``OpenAIBackend("http://localhost:8000/v1", model="Qwen/Qwen2.5-7B-Instruct")``
    talks to one ``vllm serve``; a list of base URLs spreads requests over
    replicas (fewest in flight first) and skips unreachable ones. With
    ``max_concurrency`` set, each endpoint serves at most that many requests
    at once and the rest wait here; by default nothing waits here (see the
    module docstring). Transient failures
    (429, 5xx, timeouts, dropped connections, garbled replies) are retried per
    ``retry`` (``None``: never); 400/401/404 and the like fail at once with a
    ``RequestRejectedError`` naming the status.

    ``ChatResponse.text`` is the first choice's text; with ``SamplingParams.n
    > 1`` every choice is in ``ChatResponse.samples`` (all counted in usage),
    and with ``SamplingParams.logprobs`` each carries its tokens'
    log-probabilities. ``latency_s`` is the successful attempt's. ``transport="lean"`` swaps the ``openai`` client for our own
    lean HTTP/1.1 client (same requests, same errors, far less CPU per request).
    """

    def __init__(
        self,
        base_url: str | Sequence[str],
        model: str | None = None,
        *,
        key_env: str | None = None,
        max_concurrency: int | None = None,
        timeout_s: float = 300.0,
        retry: RetryPolicy | None = DEFAULT_RETRY,
        down_for_s: float = 5.0,
        transport: Transport | None = None,
        max_tokens_field: MaxTokensField | None = None,
        name: str | None = None,
    ) -> None:
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        if not urls:
            raise ValueError("base_url: give at least one endpoint URL")
        if max_concurrency is not None and max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {max_concurrency}")
        self.model = model
        self.key_env = key_env
        self.max_concurrency = max_concurrency
        self.transport = transport_name(transport or DEFAULT_TRANSPORT)
        self.endpoints = [
            OpenAIEndpoint(
                url,
                model=model,
                key_env=key_env,
                max_connections=max_concurrency,
                timeout_s=timeout_s,
                transport=transport,
                max_tokens_field=max_tokens_field,
            )
            for url in urls
        ]
        self.name = name or f"openai:{','.join(endpoint.base_url for endpoint in self.endpoints)}"
        endpoints: list[Backend] = [
            ConcurrencyLimitedBackend(endpoint, max_concurrency) if max_concurrency else endpoint
            for endpoint in self.endpoints
        ]
        self.balancer = (
            LoadBalancedBackend(endpoints, down_for_s=down_for_s, name=self.name)
            if len(endpoints) > 1
            else None
        )
        inner = self.balancer or endpoints[0]
        self.retrying = RetryingBackend(inner, retry, name=self.name) if retry is not None else None
        self._pipeline: Backend = self.retrying or inner

    @classmethod
    def from_uri(cls, uri: str) -> OpenAIBackend:
        """Build from ``openai://HOST:PORT/v1[,HOST:PORT/v1...][?model=..&key_env=..&max_concurrency=..]``.

        ``openai+https://`` uses TLS. See ``URI_PARAMS`` for the parameters.
        """
        return cls(**parse_openai_uri(uri))

    def __repr__(self) -> str:
        urls = [endpoint.base_url for endpoint in self.endpoints]
        return (
            f"OpenAIBackend({urls!r}, model={self.model!r}, key_env={self.key_env!r}, "
            f"max_concurrency={self.max_concurrency}, transport={self.transport!r})"
        )

    @property
    def retries(self) -> int:
        """Requests sent again after a transient failure, since construction."""
        return self.retrying.retries if self.retrying else 0

    async def generate(self, requests: Sequence[ChatRequest]) -> list[ChatResponse]:
        if len(requests) == 1:  # the common case: straight to the pipeline's single-request call
            return [await serve_one(self._pipeline, requests[0])]
        return await self._pipeline.generate(requests)

    async def aclose(self) -> None:
        for endpoint in self.endpoints:
            await endpoint.aclose()

    async def __aenter__(self) -> OpenAIBackend:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()


URI_PARAMS = {
    "model": text,
    "key_env": text,
    "max_concurrency": positive_int,
    "timeout_s": positive_float,
    "max_attempts": positive_int,
    "transport": transport_name,
    "max_tokens_field": max_tokens_field_name,
}
"""Query parameters of ``openai://`` URIs; ``max_attempts`` sets the retry policy's (1: no retries)."""

URI_SHAPE = "SCHEME://HOST[:PORT][/PATH][,HOST[:PORT][/PATH]...][?model=NAME&key_env=VAR&max_concurrency=K&timeout_s=S&max_attempts=N&transport=openai|lean&max_tokens_field=max_tokens|max_completion_tokens]"


def parse_openai_uri(uri: str) -> dict[str, Any]:
    """``OpenAIBackend`` keyword arguments from an ``openai://`` or ``openai+https://`` URI."""
    scheme, _, rest = uri.partition(":")
    transports = {"openai": "http", "openai+https": "https"}
    if scheme not in transports:
        raise ValueError(f"backend URI {uri!r}: scheme must be one of {sorted(transports)}")
    if not rest.startswith("//"):
        raise ValueError(f"backend URI {uri!r}: expected {URI_SHAPE.replace('SCHEME', scheme)}")
    hosts, _, query = rest[2:].partition("?")
    if any("key" in name and name != "key_env" for name, _ in parse_qsl(query, keep_blank_values=True)):
        raise ValueError(
            f"backend URI {uri.split('?')[0]!r}: never put an API key in a URI (URIs end up in logs and manifests); "
            "export it in an environment variable and pass key_env=VAR"
        )
    params = parse_params(query, URI_PARAMS, uri)
    urls = []
    for part in hosts.split(","):
        if not part:
            raise ValueError(f"backend URI {uri!r}: empty endpoint; separate endpoints with single commas")
        if "@" in part:
            raise ValueError(
                f"backend URI {uri!r}: credentials in the host part are not allowed; use key_env=VAR"
            )
        split = urlsplit(f"{transports[scheme]}://{part}")
        try:
            split.port  # noqa: B018 - parses and validates the port
        except ValueError:
            raise ValueError(
                f"backend URI {uri!r}: endpoint {part!r} has an invalid port (1-65535)"
            ) from None
        if not split.hostname or split.query or split.fragment:
            raise ValueError(f"backend URI {uri!r}: endpoint {part!r} is not HOST[:PORT][/PATH]")
        urls.append(f"{split.scheme}://{split.netloc}{split.path.rstrip('/') or '/v1'}")
    if "max_attempts" in params:
        params["retry"] = RetryPolicy(max_attempts=params.pop("max_attempts"))
    return {"base_url": urls, **params}


register_scheme("openai", lambda rest: OpenAIBackend.from_uri(f"openai:{rest}"))
register_scheme("openai+https", lambda rest: OpenAIBackend.from_uri(f"openai+https:{rest}"))
