"""Cohorts: one LangGraph invocation advancing many debates of a round protocol at once.

A debate's own graph (``compile_debate``) costs LangGraph's per-invocation
work (a Pregel loop, a task per node, config and channel bookkeeping) once per
debate, which is several times the framework's own work per model call. A
cohort pays it once for many debates: its graph has one node per step of a
round, and each node runs that step for every debate of the cohort that is
at it, with the same functions the debate's own graph runs
(``RoundProtocol.round_steps``), so each debate's transcript is the one its
own graph would have produced.

Read top to bottom, a cohort is:

1. ``speak``: every debater of every debate in the cohort answers at once
   (one concurrent backend call each), each reading its debate's state as it
   was before the round (protocols whose debaters take turns, such as
   ChatEval's one-by-one, do this turn by turn). Their updates apply in the
   order LangGraph applies the debater nodes' writes (by node name).
2. ``end_round``: each debate checks its stop rule, and ``after_round`` says
   what it does next.
3. ``judge`` (only for scenarios with a judge): the debates that go to the
   judge hear its verdict, all at once.
4. ``next_round``: debates that stop are finalized and leave the cohort as
   results; the rest advance, and the cohort goes round again while any is left.

A debate whose step raises (a backend that still fails after its retries, a
bug) leaves the cohort at once as a failure and the others go on; its other
calls of that round still complete (a debate's own graph would cancel them),
and their messages are dropped with it. Results stream out of
``CompiledStateGraph.astream(stream_mode="updates")`` as each step ends, so
the runner records a debate as soon as it is over.

Cohorts hold no checkpoints: a run with checkpoints debates one graph per
debate, whose LangGraph thread is what resumes.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import time
import typing
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from debate.agents.backends import Backend
from debate.graph import DEFAULT_BACKEND, DebateRuntime, DebateState
from debate.protocols.common import advance
from debate.protocols.rounds import ADVANCE, END_ROUND, FINALIZE, JUDGE, SPEAK, RoundSteps
from debate.scenario import Scenario

NEXT_ROUND = "next_round"


@dataclass
class CohortDebate:
    """One debate in a cohort: its state (as its own graph would hold it) and where it goes next."""

    state: DebateState
    next: str = SPEAK
    started: float = field(default_factory=time.perf_counter)


@dataclass(frozen=True)
class Finished:
    """A debate that left its cohort: its final state, or the error it failed with."""

    debate_id: str
    state: DebateState
    error: BaseException | None
    wall_time_s: float


class CohortState(TypedDict, total=False):
    debates: list[CohortDebate]
    """The debates still in the cohort."""
    finished: list[Finished]
    """The debates that left the cohort in this step (read from the stream of updates)."""


def _reducers() -> dict[str, Callable[[Any, Any], Any]]:
    """``DebateState``'s reducers (``messages: Annotated[list, operator.add]`` and the like), by key."""
    hints = typing.get_type_hints(DebateState, include_extras=True)
    return {
        key: hint.__metadata__[0]
        for key, hint in hints.items()
        if typing.get_origin(hint) is typing.Annotated and callable(hint.__metadata__[0])
    }


_REDUCERS = _reducers()


def apply_updates(state: DebateState, updates: Iterable[Mapping[str, Any] | None]) -> DebateState:
    """``state`` after ``updates`` (in order), as LangGraph's channels apply nodes' writes: reducers, else the last value."""
    new = dict(state)
    for update in updates:
        for key, value in (update or {}).items():
            reducer = _REDUCERS.get(key)
            new[key] = reducer(new[key], value) if reducer is not None and key in new else value
    return new  # type: ignore[return-value]


@dataclass
class _Failure:
    error: BaseException
    order: int
    """When it failed, among the step's calls: a debate fails with its first error, as its own graph would."""


class _Cohort:
    """The cohort graph's nodes: each runs one of the protocol's steps for every debate at that step."""

    def __init__(self, steps: RoundSteps) -> None:
        self.steps = steps
        # LangGraph applies the writes of one step's tasks in the order of their node names
        self.turns = [sorted(turn.items()) for turn in steps.turns]

    async def speak(self, cohort: CohortState) -> CohortState:
        debates, finished = cohort["debates"], []
        for turn in self.turns:
            failures = itertools.count()
            outcomes = await asyncio.gather(
                *(_settled(node, debate.state, failures) for debate in debates for _, node in turn)
            )
            staying = []
            for index, debate in enumerate(debates):
                updates = outcomes[index * len(turn) : (index + 1) * len(turn)]
                failed = [update for update in updates if isinstance(update, _Failure)]
                if failed:
                    finished.append(_failed(debate, min(failed, key=lambda failure: failure.order).error))
                    continue
                debate.state = apply_updates(debate.state, updates)
                staying.append(debate)
            debates = staying
        return {"debates": debates, "finished": finished}

    async def end_round(self, cohort: CohortState) -> CohortState:
        staying, finished = [], []
        for debate in cohort["debates"]:
            try:
                debate.state = apply_updates(debate.state, [await _call(self.steps.end_round, debate.state)])
                debate.next = self.steps.after_round(debate.state)
            except Exception as error:  # noqa: BLE001 - the debate fails, the cohort goes on
                finished.append(_failed(debate, error))
                continue
            staying.append(debate)
        return {"debates": staying, "finished": finished}

    async def judge(self, cohort: CohortState) -> CohortState:
        judge = self.steps.judge
        assert judge is not None
        heard = [debate for debate in cohort["debates"] if debate.next == JUDGE]
        failures = itertools.count()
        verdicts = iter(await asyncio.gather(*(_settled(judge, debate.state, failures) for debate in heard)))
        staying, finished = [], []
        for debate in cohort["debates"]:
            if debate.next == JUDGE:
                verdict = next(verdicts)
                try:
                    if isinstance(verdict, _Failure):
                        raise verdict.error
                    debate.state = apply_updates(debate.state, [verdict])
                    debate.next = self.steps.after_judge(debate.state)
                except Exception as error:  # noqa: BLE001
                    finished.append(_failed(debate, error))
                    continue
            staying.append(debate)
        return {"debates": staying, "finished": finished}

    async def next_round(self, cohort: CohortState) -> CohortState:
        staying, finished = [], []
        for debate in cohort["debates"]:
            try:
                if debate.next == FINALIZE:
                    state = apply_updates(debate.state, [await _call(self.steps.finalize, debate.state)])
                    finished.append(Finished(_id(debate), state, None, time.perf_counter() - debate.started))
                    continue
                if debate.next == ADVANCE:
                    debate.state = apply_updates(debate.state, [advance(debate.state)])
                    debate.next = SPEAK
            except Exception as error:  # noqa: BLE001
                finished.append(_failed(debate, error))
                continue
            staying.append(debate)
        return {"debates": staying, "finished": finished}


async def _settled(node: Callable[[DebateState], Any], state: DebateState, order: itertools.count) -> Any:  # noqa: ANN401
    """The node's update, or the ``_Failure`` it raised (numbered in the order the failures happened)."""
    try:
        return await _call(node, state)
    except Exception as error:  # noqa: BLE001
        return _Failure(error, next(order))


async def _call(node: Callable[[DebateState], Any], state: DebateState) -> Any:  # noqa: ANN401
    result = node(state)
    return await result if inspect.isawaitable(result) else result


def _id(debate: CohortDebate) -> str:
    return debate.state["debate_id"]


def _failed(debate: CohortDebate, error: BaseException) -> Finished:
    return Finished(_id(debate), debate.state, error, time.perf_counter() - debate.started)


def compile_cohort(
    scenario: Scenario, backends: Backend | str | Mapping[str, Backend | str]
) -> CompiledStateGraph | None:
    """The cohort graph of ``scenario``, or None when its protocol has no round steps to share.

    Invoke it with ``{"debates": [CohortDebate(initial_state), ...]}``, streaming
    updates; every debate comes out once, in some step's ``finished``.
    """
    from debate.protocols import get_protocol

    round_steps = getattr(get_protocol(scenario.protocol), "round_steps", None)
    if round_steps is None:
        return None
    backend_map = dict(backends) if isinstance(backends, Mapping) else {DEFAULT_BACKEND: backends}
    steps = round_steps(DebateRuntime(scenario, backend_map))
    if steps is None:
        return None
    cohort = _Cohort(steps)
    graph = StateGraph(CohortState)
    graph.add_node(SPEAK, cohort.speak)
    graph.add_node(END_ROUND, cohort.end_round)
    graph.add_node(NEXT_ROUND, cohort.next_round)
    graph.add_edge(START, SPEAK)
    graph.add_edge(SPEAK, END_ROUND)
    if steps.judge is None:
        graph.add_edge(END_ROUND, NEXT_ROUND)
    else:
        graph.add_node(JUDGE, cohort.judge)
        graph.add_edge(END_ROUND, JUDGE)
        graph.add_edge(JUDGE, NEXT_ROUND)

    async def more(cohort_state: CohortState) -> str:
        return SPEAK if cohort_state["debates"] else END

    graph.add_conditional_edges(NEXT_ROUND, more, [SPEAK, END])
    return graph.compile(name=f"{scenario.name} (cohort)")


async def run_cohort(
    graph: CompiledStateGraph, debates: list[CohortDebate], scenario: Scenario
) -> AsyncIterator[Finished]:
    """Run the cohort ``debates`` on ``graph`` (``compile_cohort``); yield each debate as it leaves, once.

    Should the cohort's own machinery fail (not one debate's step), every debate still in it fails with that error.
    """
    left = {_id(debate): debate for debate in debates}
    # each round takes at most four cohort steps (speak, end round, judge, next round)
    config: RunnableConfig = {"recursion_limit": 10 + 4 * scenario.rounds}
    async with aclosing(graph.astream({"debates": debates}, config, stream_mode="updates")) as steps:
        while True:
            try:
                update = await anext(steps)
            except StopAsyncIteration:
                return
            except Exception as error:  # noqa: BLE001
                for debate in left.values():
                    yield _failed(debate, error)
                return
            for step in update.values():
                for finished in (step or {}).get("finished") or ():
                    del left[finished.debate_id]
                    yield finished
