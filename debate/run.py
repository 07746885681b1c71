"""Running one debate: ``run_debate`` (sync) and ``arun_debate`` (async).

With a LangGraph checkpointer, a debate is a thread named by its id: an
interrupted debate resumes where it stopped (model calls that finished are not
repeated), and a finished one returns its stored result without calling any
model.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Mapping
from typing import Any

from langgraph.graph.state import CompiledStateGraph

from debate.agents.backends import Backend
from debate.dynamics import compute_dynamics
from debate.graph import DebateState, compile_debate
from debate.scenario import Scenario
from debate.transcript import DebateResult, Outcome, Transcript, no_answer_reason

Backends = Backend | str | Mapping[str, Backend | str]


def debate_id_for(scenario: Scenario, question: str, item_id: str | None = None) -> str:
    """Ids derive from the scenario and the item, so reruns and resumes find the same debate."""
    digest = hashlib.sha256(f"{scenario.fingerprint()}\n{item_id or ''}\n{question}".encode()).hexdigest()[:12]
    return f"{scenario.name}-{item_id}-{digest}" if item_id else f"{scenario.name}-{digest}"


def recursion_limit(scenario: Scenario) -> int:
    """Each round takes at most four LangGraph steps (speak, end round, judge, advance)."""
    return 10 + 5 * scenario.rounds


async def arun_debate(
    scenario: Scenario,
    question: str,
    *,
    backend: Backends | None = None,
    context: Mapping[str, str] | None = None,
    gold: str | None = None,
    debate_id: str | None = None,
    checkpointer: Any = None,
    graph: CompiledStateGraph | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> DebateResult:
    """Run one debate on ``question`` and return its result.

    ``backend`` is a backend, a backend URI, or a mapping from the names that
    agents give in ``Agent.backend`` to backends (``"default"`` for the rest).
    Pass an already compiled ``graph`` to run many debates without recompiling.
    A debate that ends without a valid final answer is a result (outcome
    ``no_answer``, with the parsers' reasons); model failures propagate as
    exceptions. With a ``checkpointer``, calling again with the same
    ``debate_id`` resumes.
    """
    if graph is None:
        if backend is None:
            raise ValueError("backend: run_debate needs a backend (or a compiled graph)")
        graph = compile_debate(scenario, backend, checkpointer=checkpointer)
    debate_id = debate_id or debate_id_for(scenario, question)
    config: dict[str, Any] = {"recursion_limit": recursion_limit(scenario)}
    if graph.checkpointer is not None:
        config["configurable"] = {"thread_id": debate_id}
    started = time.perf_counter()
    initial: DebateState | None = initial_state(debate_id, question, context=context, gold=gold, metadata=metadata)
    if graph.checkpointer is not None:
        snapshot = await graph.aget_state(config)
        if snapshot.values.get("messages") is not None or snapshot.next:
            initial = None  # resume (or return the finished debate) from the checkpoint
    # "sync": each step's checkpoint is on disk before the next step starts. LangGraph's default writes it
    # while the next step runs, and a run killed in between resumed without the debate's last steps
    # (tests/test_resume.py kills a debate after each of its checkpoint writes)
    durability = "sync" if graph.checkpointer is not None else None
    state = await graph.ainvoke(initial, config, durability=durability)
    return debate_result(scenario, state, wall_time_s=time.perf_counter() - started)


def initial_state(
    debate_id: str,
    question: str,
    *,
    context: Mapping[str, str] | None = None,
    gold: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> DebateState:
    """A debate's state before its first step."""
    return {
        "debate_id": debate_id,
        "question": question,
        "context": dict(context or {}),
        "round": 0,
        "messages": [],
        "stop_reason": None,
        "final_answer": None,
        "gold": gold,
        "metadata": dict(metadata or {}),
    }


def debate_result(scenario: Scenario, state: DebateState, *, wall_time_s: float) -> DebateResult:
    """The result of a debate whose graph (its own, or its cohort's) ended in ``state``."""
    transcript = Transcript(
        debate_id=state["debate_id"],
        scenario=scenario.name,
        question=state["question"],
        context=dict(state.get("context") or {}),
        messages=state["messages"],
        branches=state.get("branches") or [],
    )
    final_answer = state.get("final_answer")
    return DebateResult(
        transcript=transcript,
        final_answer=final_answer,
        outcome=Outcome.ANSWERED if final_answer is not None else Outcome.NO_ANSWER,
        reason=None if final_answer is not None else no_answer_reason(transcript),
        stop_reason=state.get("stop_reason"),
        gold=state.get("gold"),
        dynamics=compute_dynamics(state["messages"]),
        wall_time_s=wall_time_s,
        metadata=dict(state.get("metadata") or {}),
    )


def run_debate(scenario: Scenario, question: str, **kwargs: Any) -> DebateResult:
    """Synchronous ``arun_debate``, for scripts and notebooks without a running event loop."""
    return asyncio.run(arun_debate(scenario, question, **kwargs))
