"""debate: multi-agent debate and critique as LangGraph graphs of typed messages.

The one import a user needs::

    from debate import Scenario, Debater, Judge, ScriptedBackend, run_debate

Names are resolved lazily (PEP 562): ``import debate`` stays cheap, and the
low-level modules (``debate.messages``, ``debate.agents.backends``) can be imported
in any order without circular imports.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # roles and backends live in the `agents` package; re-exported so `debate` is the one import
    "Agent": "debate.agents.roles",
    "Critic": "debate.agents.roles",
    "Debater": "debate.agents.roles",
    "Judge": "debate.agents.roles",
    "Refiner": "debate.agents.roles",
    "Backend": "debate.agents.backends",
    "BackendError": "debate.agents.backends",
    "ChatMessage": "debate.agents.backends",
    "ChatRequest": "debate.agents.backends",
    "ChatResponse": "debate.agents.backends",
    "Completion": "debate.agents.backends",
    "ScriptedBackend": "debate.agents.backends",
    "OpenAIBackend": "debate.agents.backends.openai",
    "VLLMBackend": "debate.agents.backends.vllm",
    "TransformersBackend": "debate.agents.backends.transformers",
    "BatchingBackend": "debate.agents.backends.batching",
    "register_scheme": "debate.agents.backends",
    "resolve_backend": "debate.agents.backends",
    # the framework
    "ChoiceAnswer": "debate.answers",
    "FunctionAnswer": "debate.answers",
    "NumberAnswer": "debate.answers",
    "ParsedAnswer": "debate.answers",
    "TextAnswer": "debate.answers",
    "sqlite_checkpointer": "debate.checkpoint",
    "Dynamics": "debate.dynamics",
    "compute_dynamics": "debate.dynamics",
    "LogprobSummary": "debate.logprobs",
    "TokenLogprob": "debate.logprobs",
    "DebateState": "debate.graph",
    "compile_debate": "debate.graph",
    "Message": "debate.messages",
    "MessageKind": "debate.messages",
    "Role": "debate.messages",
    "Sample": "debate.messages",
    "SamplingParams": "debate.messages",
    "Usage": "debate.messages",
    "relaxed_gc": "debate.gc_tuning",
    "protocol_names": "debate.protocols",
    "register_protocol": "debate.protocols",
    "arun_debate": "debate.run",
    "debate_id_for": "debate.run",
    "run_debate": "debate.run",
    "RunOptions": "debate.runner",
    "arun_dataset": "debate.runner",
    "run_dataset": "debate.runner",
    "Scenario": "debate.scenario",
    "build_topology": "debate.topology",
    "DebateResult": "debate.transcript",
    "Outcome": "debate.transcript",
    "Transcript": "debate.transcript",
    "load_results": "debate.transcript",
    "save_results": "debate.transcript",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'debate' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # cache: later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


if TYPE_CHECKING:  # static analysers and IDEs see the real names
    from debate.agents.backends import (
        Backend,
        BackendError,
        ChatMessage,
        ChatRequest,
        ChatResponse,
        Completion,
        ScriptedBackend,
        register_scheme,
        resolve_backend,
    )
    from debate.agents.backends.batching import BatchingBackend
    from debate.agents.backends.openai import OpenAIBackend
    from debate.agents.backends.transformers import TransformersBackend
    from debate.agents.backends.vllm import VLLMBackend
    from debate.agents.roles import Agent, Critic, Debater, Judge, Refiner
    from debate.answers import ChoiceAnswer, FunctionAnswer, NumberAnswer, ParsedAnswer, TextAnswer
    from debate.checkpoint import sqlite_checkpointer
    from debate.dynamics import Dynamics, compute_dynamics
    from debate.gc_tuning import relaxed_gc
    from debate.graph import DebateState, compile_debate
    from debate.logprobs import LogprobSummary, TokenLogprob
    from debate.messages import Message, MessageKind, Role, Sample, SamplingParams, Usage
    from debate.protocols import protocol_names, register_protocol
    from debate.run import arun_debate, debate_id_for, run_debate
    from debate.runner import RunOptions, arun_dataset, run_dataset
    from debate.scenario import Scenario
    from debate.topology import build_topology
    from debate.transcript import DebateResult, Outcome, Transcript, load_results, save_results
