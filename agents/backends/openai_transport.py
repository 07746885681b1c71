"""A lean HTTP/1.1 transport for OpenAI-compatible servers, on plain asyncio streams.

The ``openai`` client costs about a millisecond or more of CPU per request
(request-option transforms, httpx request and response objects, and an
httpcore pool that scans every connection on each request; see "HTTP client
overhead" in docs/benchmarks.md). A chat completion needs far less: one POST
with a JSON body on a kept-alive connection, and one JSON answer. This module
does just that, so that at a thousand requests in flight the client does not
set the wall time.

It knows HTTP/1.1 with ``Content-Length`` or chunked bodies, keep-alive,
``Connection: close`` and TLS (``https://``). It raises only Python's own
errors (``OSError``, ``TimeoutError``, ``asyncio.IncompleteReadError``,
``ValueError`` for an unparseable answer); ``OpenAIEndpoint`` turns those and
the HTTP status into its typed errors, the same as on the ``openai`` path.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

USER_AGENT = "debate-lean-http/1"


@dataclass(frozen=True)
class HTTPResponse:
    """A complete answer: status, headers (names in lower case) and the whole body."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class _Connection:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @property
    def usable(self) -> bool:
        """False once the server hung up while the connection sat idle (checked before reuse)."""
        return not (self.reader.at_eof() or self.reader.exception() or self.writer.is_closing())

    def close(self) -> None:
        self.writer.close()


class HTTPConnectionPool:
    """Kept-alive connections to one server; constant work per request, however many are open.

    Build it inside the event loop that will use it. ``max_connections``
    requests run at once and more wait here for a free connection; ``None``
    opens a connection for every request in flight that finds none idle.
    ``timeout_s`` bounds a whole request (waiting for a connection excluded),
    ``connect_timeout_s`` opening a new connection. ``headers`` are sent with
    every request (an ``Authorization`` header among them stays in here: the
    pool has no ``repr`` that shows it).
    """

    def __init__(
        self,
        base_url: str,
        *,
        max_connections: int | None,
        timeout_s: float,
        connect_timeout_s: float,
        headers: dict[str, str],
    ) -> None:
        split = urlsplit(base_url)
        if split.scheme not in ("http", "https") or not split.hostname:
            raise ValueError(f"base_url {base_url!r}: expected http(s)://HOST[:PORT][/PATH]")
        self.host = split.hostname
        self.port = split.port or (443 if split.scheme == "https" else 80)
        self.path = split.path.rstrip("/")
        self.timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self._ssl = ssl.create_default_context() if split.scheme == "https" else None
        default_port = self.port == (443 if self._ssl else 80)
        all_headers = {
            "Host": self.host if default_port else f"{self.host}:{self.port}",
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            **headers,
        }
        self._head_lines = "".join(f"{name}: {value}\r\n" for name, value in all_headers.items())
        self._idle: list[_Connection] = []
        self._slots = asyncio.Semaphore(max_connections) if max_connections else None

    async def request(self, method: str, path: str, body: bytes | None = None) -> HTTPResponse:
        """Send one request to ``base_url + path`` and read the whole answer."""
        head = f"{method} {self.path}{path} HTTP/1.1\r\n{self._head_lines}"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        message = (head + "\r\n").encode("latin-1") + (body or b"")
        del body  # the message holds a copy; some encoders' bytes keep a buffer several times their length
        slots = self._slots  # acquired and released by hand: no context manager's coroutine per request
        if slots is not None:
            await slots.acquire()
        try:
            connection = None
            while self._idle:
                idle = self._idle.pop()  # the most recently used: the least likely to have timed out
                if idle.usable:
                    connection = idle
                    break
                idle.close()
            if connection is None:
                connection = await self._connect()
            try:
                async with asyncio.timeout(self.timeout_s):
                    connection.writer.write(message)
                    response, keep_alive = await _read_response(connection.reader, method)
            except BaseException:
                connection.close()
                raise
            if keep_alive:
                self._idle.append(connection)
            else:
                connection.close()
            return response
        finally:
            if slots is not None:
                slots.release()

    async def _connect(self) -> _Connection:
        async with asyncio.timeout(self.connect_timeout_s):
            reader, writer = await asyncio.open_connection(self.host, self.port, ssl=self._ssl)
        return _Connection(reader, writer)

    async def aclose(self) -> None:
        """Close the idle connections (requests in flight close theirs when they end)."""
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


async def _read_response(reader: asyncio.StreamReader, method: str) -> tuple[HTTPResponse, bool]:
    """One HTTP/1.1 response, and whether the connection may carry another request."""
    while True:
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
        version, status_text = status_line.split(" ", 2)[:2]
        status = int(status_text)
        headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if status >= 200:
            break  # skip 1xx interim answers
    keep_alive = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    if method == "HEAD" or status in (204, 304):
        body = b""
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    elif "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    else:
        body, keep_alive = await reader.read(), False  # the body ends when the server hangs up
    return HTTPResponse(status, headers, body), keep_alive


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, if any
                pass
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readuntil(b"\r\n")
