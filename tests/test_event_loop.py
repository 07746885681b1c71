"""What keeps many debates cheap: nodes on the event loop, and a relaxed garbage collector during runs."""

import gc
import threading

import pytest

from debate import Debater, Scenario, ScriptedBackend, arun_debate, relaxed_gc
from debate.graph import DebateGraph, DebateState


async def test_plain_function_nodes_and_routers_run_on_the_event_loop_thread():
    seen: list[int] = []

    def note(state: DebateState) -> dict:
        seen.append(threading.get_ident())
        return {"round": state.get("round", 0) + 1}

    def route(state: DebateState) -> str:
        seen.append(threading.get_ident())
        return "__end__"

    builder = DebateGraph(DebateState)
    builder.add_node("note", note)
    builder.add_edge("__start__", "note")
    builder.add_conditional_edges("note", route, ["__end__"])

    state = await builder.compile().ainvoke({"round": 0})

    assert state["round"] == 1
    assert seen == [threading.get_ident()] * 2  # LangGraph alone would have used its thread pool


async def test_every_protocol_node_of_a_debate_runs_without_the_thread_pool(monkeypatch):
    import concurrent.futures

    submitted = []
    original = concurrent.futures.ThreadPoolExecutor.submit
    monkeypatch.setattr(
        concurrent.futures.ThreadPoolExecutor,
        "submit",
        lambda self, *a, **k: submitted.append(a) or original(self, *a, **k),
    )
    scenario = Scenario(name="t", agents=[Debater("a"), Debater("b")], protocol="rcr", rounds=2, stop="fixed")

    result = await arun_debate(
        scenario, "What is 2 + 2?", backend=ScriptedBackend(lambda request: "2 + 2 = 4\n#### 4")
    )

    assert result.final_answer == "4" and submitted == []


def test_relaxed_gc_raises_the_young_threshold_inside_and_restores_it_even_on_error():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), relaxed_gc(threshold=123_456):
        assert gc.get_threshold() == (123_456, *before[1:])
        raise RuntimeError("a failed run")
    assert gc.get_threshold() == before
    with pytest.raises(ValueError, match="at least 1"), relaxed_gc(threshold=0):
        pass
