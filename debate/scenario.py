"""A debate scenario is data: who debates, under which protocol, who sees whom, when to stop.

Everything is validated at construction, so a typo in a scenario fails before
any model is called, with an error that names the field.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable
from typing import Any, Literal

import networkx as nx
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from debate.agents.roles import Agent, Judge, agent_from_dict
from debate.answers import AnswerParser, answer_parser
from debate.messages import Role
from debate.topology import build_topology

StopRule = Literal["fixed", "consensus", "judge"]
Aggregation = Literal["majority", "confidence", "judge"]


class Scenario(BaseModel):
    """A debate, minus the question.

    - ``agents``: debaters (at least one), plus a critic and a refiner for protocols that use them.
    - ``judge``: optional; required by ``stop="judge"``, ``aggregate="judge"`` and protocols that need one.
    - ``rounds``: how many rounds at most, counting the first (round 0) in which debaters answer alone.
    - ``protocol``: a registered protocol name (``simultaneous``, ``rcr``, ``critic_refiner``, ...).
    - ``topology``: ``full``, ``ring``, ``star`` or a ``networkx.DiGraph`` over debater names.
    - ``stop``: ``fixed`` (all rounds), ``consensus`` (stop once all debaters agree), ``judge`` (the judge decides each round).
    - ``answer``: ``number``, ``choice``, ``text``, a parser object or a function ``text -> answer | None``.
    - ``aggregate``: how the final answer is chosen; defaults to the judge's verdict when there is a judge steering, else majority.
    - ``prompts``: template overrides for every agent, e.g. ``{"debater.first_round": "..."}``.
    - ``temperature_schedule``: optional debater temperature per round (the last value repeats), as in DTE's code.
    - ``context_visibility``: which roles see which context field (e.g. ``{"passage": ["debater"]}``);
      fields not listed are visible to every role.
    - ``private_confidence``: debaters also state, each turn, how likely their answer is right; the line
      is cut from the text before anyone reads it and kept on the message (``Message.private_confidence``),
      as in "When Two LLMs Debate, Both Think They'll Win".
    - ``agreement_intensity``: 0-100, how much debaters are told to take up the others' views
      (0: discard them always, 50: as their answers deserve, 100: incorporate them always), as in
      DebateLLM; only protocols that say so read it (``multi_persona``, ``chateval``).
    - ``branch_at``: a round (>= 1) whose turns branch, as in PBT: each debater whose peers disagreed with
      it also answers told to accept the peer's answer and told to keep its own; the continuations are
      kept beside the transcript (``Transcript.branches``) for the ``pbt`` export, and the debate goes on
      unchanged. Protocols built on the round loop take it (``simultaneous``, ``rcr``, ...).
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, frozen=True)

    name: str = Field(min_length=1)
    agents: list[Agent]
    judge: Judge | None = None
    protocol: str = "simultaneous"
    rounds: int = Field(default=3, ge=1)
    topology: str | nx.DiGraph = "full"
    stop: StopRule = "consensus"
    answer: Any = "number"
    aggregate: Aggregation | None = None
    prompts: dict[str, str] = Field(default_factory=dict)
    temperature_schedule: list[float] | None = None
    context_visibility: dict[str, list[Role]] = Field(default_factory=dict)
    critique_peers: int = Field(default=2, ge=1)
    private_confidence: bool = False
    agreement_intensity: int | None = Field(default=None, ge=0, le=100)
    branch_at: int | None = Field(default=None, ge=1)

    @field_validator("agents", mode="before")
    @classmethod
    def _agents_from_dicts(cls, agents: Any) -> Any:
        if isinstance(agents, list):
            return [agent_from_dict(agent) if isinstance(agent, dict) else agent for agent in agents]
        return agents

    @field_validator("answer")
    @classmethod
    def _answer_is_parseable(cls, answer: Any) -> Any:
        answer_parser(answer)  # raises with the valid names
        return answer

    @field_validator("temperature_schedule")
    @classmethod
    def _temperatures_are_valid(cls, schedule: list[float] | None) -> list[float] | None:
        if schedule is not None and (not schedule or any(t < 0 for t in schedule)):
            raise ValueError("temperature_schedule must be a non-empty list of temperatures >= 0")
        return schedule

    @model_validator(mode="after")
    def _check_consistency(self) -> Scenario:
        from debate.protocols import get_protocol, protocol_names

        names = [agent.name for agent in self.agents] + ([self.judge.name] if self.judge else [])
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"agents: duplicate agent names {duplicates}")
        if any(agent.role is Role.JUDGE for agent in self.agents):
            raise ValueError("agents: put the judge in `judge=`, not in `agents`")
        protocol = get_protocol(self.protocol)
        if not self.debaters and getattr(protocol, "needs_debaters", True):
            raise ValueError("agents: a scenario needs at least one Debater")
        build_topology(self.topology, [debater.name for debater in self.debaters])
        needs_judge = protocol.needs_judge or self.stop == "judge" or self.aggregate == "judge"
        if needs_judge and self.judge is None:
            reason = (
                f"protocol {self.protocol!r}"
                if protocol.needs_judge
                else f"stop={self.stop!r}, aggregate={self.aggregate!r}"
            )
            raise ValueError(f"judge: {reason} needs a judge, but none was given")

        def protocols_that(flag: str) -> list[str]:
            return [name for name in protocol_names() if getattr(get_protocol(name), flag, False)]

        if self.agreement_intensity is not None and not getattr(protocol, "uses_agreement_intensity", False):
            raise ValueError(
                f"agreement_intensity: protocol {self.protocol!r} does not read it; "
                f"protocols that do: {protocols_that('uses_agreement_intensity')}"
            )
        if self.branch_at is not None:
            if not getattr(protocol, "branches_turns", False):
                raise ValueError(
                    f"branch_at: protocol {self.protocol!r} does not branch turns; "
                    f"protocols that do: {protocols_that('branches_turns')}"
                )
            if self.branch_at >= self.rounds:
                raise ValueError(
                    f"branch_at: round {self.branch_at} does not exist with rounds={self.rounds} "
                    f"(valid: 1 to {self.rounds - 1}: round 0 has no peers to be persuaded by)"
                )
        protocol.validate(self)
        return self

    # -- derived views -------------------------------------------------------------

    @property
    def debaters(self) -> list[Agent]:
        return [agent for agent in self.agents if agent.role is Role.DEBATER]

    def agent(self, role: Role) -> Agent | None:
        """The first agent with ``role`` (for protocols with a single critic, refiner or judge)."""
        if role is Role.JUDGE:
            return self.judge
        return next((agent for agent in self.agents if agent.role is role), None)

    @property
    def parser(self) -> AnswerParser:
        return answer_parser(self.answer)

    @property
    def aggregation(self) -> Aggregation:
        if self.aggregate is not None:
            return self.aggregate
        return "judge" if self.stop == "judge" else "majority"

    def visibility_graph(self) -> nx.DiGraph:
        return build_topology(self.topology, [debater.name for debater in self.debaters])

    def sees(self, role: Role, field: str) -> bool:
        allowed = self.context_visibility.get(field)
        return allowed is None or role in allowed

    def fingerprint(self) -> str:
        """A stable hash of everything that changes a debate's behaviour.

        Runs use it to refuse reusing a run directory with a different scenario.
        """
        payload = self.model_dump(mode="json", exclude={"topology", "answer"})
        if not payload["private_confidence"]:
            del payload["private_confidence"]  # left out when off, so older scenarios keep their fingerprints
        for optional in ("agreement_intensity", "branch_at"):
            if payload[optional] is None:
                del payload[optional]  # left out when unset, so older scenarios keep their fingerprints
        topology = self.topology if isinstance(self.topology, str) else sorted(map(list, self.topology.edges))
        payload["topology"] = topology
        payload["answer"] = _describe_parser(self.answer)
        blob = json.dumps(payload, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def _describe_parser(answer: Any) -> str:
    if isinstance(answer, str):
        return answer
    target: Callable[..., Any] | type = (
        answer if callable(answer) and not hasattr(answer, "name") else type(answer)
    )
    try:
        return inspect.getsource(target)
    except (OSError, TypeError):
        return getattr(target, "__qualname__", repr(target))
