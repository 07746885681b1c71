"""Debate protocols: each one is a small object that adds nodes and edges to a graph.

A protocol declares whether it needs a judge, checks the scenario for anything
else it needs, and builds its part of the ``StateGraph``. New protocols (the
oversight protocols, MAD, ...) are new modules that call ``register_protocol``;
the core does not change.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from langgraph.graph import StateGraph

    from debate.graph import DebateRuntime
    from debate.scenario import Scenario


class DebateProtocol(Protocol):
    """Optional attributes, read with defaults: ``needs_debaters`` (True; False lets a judge answer
    alone), ``prompt_file`` (the protocol's name; variants of one protocol share one file) and
    ``uses_agreement_intensity`` (False; True lets a scenario set ``agreement_intensity``) and
    ``branches_turns`` (False; True lets a scenario set ``branch_at``)."""

    name: str
    needs_judge: bool

    def validate(self, scenario: Scenario) -> None:
        """Raise ValueError (naming the field) if ``scenario`` cannot run under this protocol."""

    def build(self, graph: StateGraph, runtime: DebateRuntime) -> None:
        """Add this protocol's nodes and edges to ``graph``."""


_PROTOCOLS: dict[str, DebateProtocol] = {}
_BUILTIN_MODULES = (
    "debate.protocols.simultaneous",
    "debate.protocols.rcr",
    "debate.protocols.critic_refiner",
    "debate.protocols.adversarial",
    "debate.protocols.consultancy",
    "debate.protocols.direct",
    "debate.protocols.mad",
    "debate.protocols.debunc",
    "debate.protocols.multi_persona",
    "debate.protocols.ensemble_refinement",
    "debate.protocols.spp",
    "debate.protocols.chateval",
    "debate.protocols.sr_dcr",
    "debate.protocols.medprompt",
    "debate.protocols.aidsafe",
)
_EXTRA_MODULES: list[str] = []


def register_protocol(protocol: DebateProtocol) -> DebateProtocol:
    _PROTOCOLS[protocol.name] = protocol
    return protocol


def register_protocol_module(module: str) -> None:
    """Have ``get_protocol`` import ``module`` (which registers protocols) on first use."""
    if module not in _EXTRA_MODULES:
        _EXTRA_MODULES.append(module)


def _load_builtins() -> None:
    for module in (*_BUILTIN_MODULES, *_EXTRA_MODULES):
        importlib.import_module(module)


def get_protocol(name: str) -> DebateProtocol:
    if name not in _PROTOCOLS:
        _load_builtins()
    if name not in _PROTOCOLS:
        raise ValueError(f"protocol: unknown protocol {name!r}; valid: {sorted(_PROTOCOLS)}")
    return _PROTOCOLS[name]


def protocol_names() -> list[str]:
    _load_builtins()
    return sorted(_PROTOCOLS)
