"""Model backends: one protocol (``Backend``), one module per implementation.

Backends are also created from short URIs (``scripted:``, and the schemes the
other backend modules register), so that the CLI and config files can name
them. ``resolve_backend`` is the one place that maps a URI to a backend.
"""

from __future__ import annotations

from collections.abc import Callable

from debate.agents.backends.base import (
    Backend,
    BackendError,
    ChatMessage,
    ChatRequest,
    ChatResponse,
    Completion,
    generate_one,
)
from debate.agents.backends.scripted import ScriptedBackend

BackendFactory = Callable[[str], Backend]
"""Builds a backend from the part of a URI after ``scheme:``."""

_SCHEMES: dict[str, BackendFactory] = {}


def register_scheme(scheme: str, factory: BackendFactory) -> None:
    """Make ``scheme:...`` URIs resolve through ``factory``."""
    _SCHEMES[scheme] = factory


def _scripted_from_uri(rest: str) -> Backend:
    # ``scripted:TEXT`` answers TEXT to every request; handy for smoke tests.
    return ScriptedBackend(default=rest or "#### 0")


register_scheme("scripted", _scripted_from_uri)


def resolve_backend(spec: str | Backend) -> Backend:
    """Turn a backend URI (or an already built backend) into a backend.

    Raises ``ValueError`` naming the scheme when it is unknown.
    """
    if not isinstance(spec, str):
        return spec
    scheme, sep, rest = spec.partition(":")
    if not sep:
        raise ValueError(f"backend URI {spec!r} has no scheme; expected one of {sorted(_SCHEMES)} followed by ':'")
    _load_optional_schemes()
    factory = _SCHEMES.get(scheme)
    if factory is None:
        raise ValueError(f"unknown backend scheme {scheme!r} in {spec!r}; known schemes: {sorted(_SCHEMES)}")
    return factory(rest)


def _load_optional_schemes() -> None:
    """Import the backend modules that register schemes, without importing heavy deps eagerly."""
    import importlib

    for module in ("debate.agents.backends.openai", "debate.agents.backends.transformers", "debate.agents.backends.vllm"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name != module:
                raise


__all__ = [
    "Backend",
    "BackendError",
    "BackendFactory",
    "ChatMessage",
    "ChatRequest",
    "ChatResponse",
    "Completion",
    "ScriptedBackend",
    "generate_one",
    "register_scheme",
    "resolve_backend",
]
