"""Agents: roles, prompt templates and model backends.

This folder installs as ``debate.agents`` (pyproject's ``package-dir``), never
as a top-level ``agents``, which the OpenAI Agents SDK owns; users import it
all from ``debate`` (``from debate import Debater, Judge, ScriptedBackend``).
"""

from debate.agents.backends import (
    Backend,
    BackendError,
    ChatMessage,
    ChatRequest,
    ChatResponse,
    ScriptedBackend,
)
from debate.agents.roles import Agent, Critic, Debater, Judge, Refiner

__all__ = [
    "Agent",
    "Backend",
    "BackendError",
    "ChatMessage",
    "ChatRequest",
    "ChatResponse",
    "Critic",
    "Debater",
    "Judge",
    "Refiner",
    "ScriptedBackend",
]
