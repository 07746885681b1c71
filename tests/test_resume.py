"""An interrupted debate resumes from its LangGraph checkpoint without repeating finished model calls."""

import asyncio
from collections import Counter

import aiosqlite
import pytest
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

from debate import (
    BackendError,
    Debater,
    Scenario,
    ScriptedBackend,
    arun_debate,
    compile_debate,
    sqlite_checkpointer,
)
from debate.checkpoint import debate_serializer

SCENARIO = Scenario(name="resume", agents=[Debater(n) for n in "abc"], protocol="rcr", rounds=3, stop="fixed")


def script(request):
    return f"{request.agent} thinks #### {request.round + 10}"


def test_a_debate_that_failed_in_round_2_resumes_where_it_stopped(tmp_path):
    backend = ScriptedBackend(script, latency_s=0.01, failures={("b", 2): 1})

    async def run_twice():
        async with sqlite_checkpointer(tmp_path / "checkpoints.sqlite") as saver:
            graph = compile_debate(SCENARIO, backend, checkpointer=saver)
            with pytest.raises(BackendError, match="agent 'b' in round 2"):
                await arun_debate(SCENARIO, "q?", graph=graph, debate_id="d1")
            completed_before_resume = Counter((r.agent, r.round) for r in backend.completed)
            resumed = await arun_debate(SCENARIO, "q?", graph=graph, debate_id="d1")
            return completed_before_resume, resumed

    before, result = asyncio.run(run_twice())
    assert before == Counter({(n, r): 1 for n in "abc" for r in (0, 1)} | {("a", 2): 1, ("c", 2): 1})
    completed = Counter((r.agent, r.round) for r in backend.completed)
    assert completed == Counter({(n, r): 1 for n in "abc" for r in range(3)})  # nothing ran twice
    assert len(backend.calls) == 10  # 9 successful calls + the one injected failure
    assert [(m.round, m.author) for m in result.transcript.messages] == [
        (r, n) for r in range(3) for n in "abc"
    ]
    assert result.final_answer == "12"


def test_a_finished_debate_is_returned_from_the_checkpoint_without_model_calls(tmp_path):
    backend = ScriptedBackend(script)

    async def run_twice():
        async with sqlite_checkpointer(tmp_path / "checkpoints.sqlite") as saver:
            graph = compile_debate(SCENARIO, backend, checkpointer=saver)
            first = await arun_debate(SCENARIO, "q?", graph=graph, debate_id="d2")
            calls = len(backend.calls)
            second = await arun_debate(SCENARIO, "q?", graph=graph, debate_id="d2")
            return first, second, calls

    first, second, calls = asyncio.run(run_twice())
    assert len(backend.calls) == calls == 9
    assert second.transcript == first.transcript
    assert second.final_answer == first.final_answer


def test_checkpoints_survive_a_new_process_worth_of_objects(tmp_path):
    """A fresh checkpointer and graph on the same file (as after a restart) resume the thread."""
    failing = ScriptedBackend(script, failures={("a", 1): 1})
    fresh = ScriptedBackend(script)

    async def crash_then_restart():
        async with sqlite_checkpointer(tmp_path / "c.sqlite") as saver:
            with pytest.raises(BackendError):
                await arun_debate(
                    SCENARIO,
                    "q?",
                    graph=compile_debate(SCENARIO, failing, checkpointer=saver),
                    debate_id="d3",
                )
        async with sqlite_checkpointer(tmp_path / "c.sqlite") as saver:
            return await arun_debate(
                SCENARIO, "q?", graph=compile_debate(SCENARIO, fresh, checkpointer=saver), debate_id="d3"
            )

    result = asyncio.run(crash_then_restart())
    assert sorted((r.agent, r.round) for r in fresh.completed) == [("a", 1), ("a", 2), ("b", 2), ("c", 2)]
    assert len(result.transcript.messages) == 9


class KilledAfter(AsyncSqliteSaver):
    """A SQLite checkpointer that stores nothing after its first ``writes`` writes, as if the process died there."""

    def __init__(self, connection, writes):
        super().__init__(connection, serde=debate_serializer())
        self.writes = writes
        self.attempted = 0

    def _keeps(self):
        self.attempted += 1
        return self.attempted <= self.writes

    async def aput(self, config, checkpoint, metadata, new_versions):
        if self._keeps():
            return await super().aput(config, checkpoint, metadata, new_versions)
        return {"configurable": {**config["configurable"], "checkpoint_id": checkpoint["id"]}}

    async def aput_writes(self, config, writes, task_id, task_path=""):
        if self._keeps():
            await super().aput_writes(config, writes, task_id, task_path)


async def killed_after(writes, path):
    """The debate run against ``KilledAfter(writes)``, then rerun on what reached the file: (rerun, writes attempted)."""
    async with aiosqlite.connect(str(path)) as connection:
        saver = KilledAfter(connection, writes)
        await saver.setup()
        graph = compile_debate(SCENARIO, ScriptedBackend(script), checkpointer=saver)
        await arun_debate(SCENARIO, "q?", graph=graph, debate_id="d4")
    async with sqlite_checkpointer(path) as fresh:
        graph = compile_debate(SCENARIO, ScriptedBackend(script), checkpointer=fresh)
        return await arun_debate(SCENARIO, "q?", graph=graph, debate_id="d4"), saver.attempted


def test_a_debate_killed_after_any_of_its_checkpoint_writes_resumes_to_the_same_answer(tmp_path):
    """Each step's checkpoint is stored before the next step runs. With LangGraph's default ("async")
    durability, a kill after the 18th or 20th of this debate's writes left a thread that resumed to a
    finished debate without its final answer."""

    def outcome(result):
        return (
            [(m.round, m.author, m.text) for m in result.transcript.messages],
            result.final_answer,
            result.stop_reason,
        )

    reference = outcome(
        asyncio.run(arun_debate(SCENARIO, "q?", backend=ScriptedBackend(script), debate_id="d4"))
    )
    writes, attempted = 0, 1
    while writes < attempted:
        rerun, attempted = asyncio.run(killed_after(writes, tmp_path / f"killed-after-{writes}.sqlite"))
        assert outcome(rerun) == reference, f"killed after {writes} of {attempted} checkpoint writes"
        writes += 1
    assert attempted > 9  # at least a write a step: every step's end was a kill point
