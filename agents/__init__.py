"""Agents: roles, prompt templates and model backends.

``from debate import Debater, Judge, ScriptedBackend`` re-exports everything
here, so that code can avoid the top-level name ``agents`` (which the OpenAI
Agents SDK also uses) and both can live in one environment.
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
