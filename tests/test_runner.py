"""Running a scenario over a dataset: the run directory, resume, failures, retries, concurrency and streaming."""

import asyncio
import json
import re

import pytest

from debate import Debater, Outcome, Scenario, ScriptedBackend, debate_id_for, load_results, register_scheme
from debate.datasets import Item
from debate.runner import RunDir, RunDirBusy, RunDirMismatch, RunOptions, run_dataset
from debate.summary import DebateNote

SCENARIO = Scenario(
    name="runner-test", agents=[Debater(n) for n in "abc"], protocol="rcr", rounds=3, stop="fixed"
)
ITEMS = [
    Item(id=f"q{i}", question=f"What is {i} + {i}?", gold=str(2 * i), metadata={"level": i % 2})
    for i in range(12)
]
QUIET = RunOptions(concurrency=4, progress="off")


def adder(request):
    """Debaters that add correctly: the question is in every prompt."""
    a, b = map(int, re.search(r"What is (\d+) \+ (\d+)\?", request.messages[-1].content).groups())
    return f"{a} + {b} = {a + b}\n#### {a + b}"


def ids_of(items):
    return [debate_id_for(SCENARIO, item.question, item.id) for item in items]


def lines(run_dir):
    return (run_dir / "results.jsonl").read_text().splitlines()


def test_a_run_writes_one_line_per_debate_a_manifest_and_a_summary(tmp_path):
    summary = run_dataset(SCENARIO, ITEMS, tmp_path / "run", backends=ScriptedBackend(adder), options=QUIET)

    results = list(load_results(tmp_path / "run" / "results.jsonl"))
    assert sorted(r.debate_id for r in results) == sorted(ids_of(ITEMS))
    first = next(r for r in results if r.metadata["item_id"] == "q3")
    assert (first.final_answer, first.gold, first.metadata) == ("6", "6", {"level": 1, "item_id": "q3"})
    assert (summary.debates, summary.expected_debates, summary.complete, summary.failed) == (12, 12, True, 0)
    assert summary.accuracy == 1.0 and summary.accuracy_per_round == [1.0, 1.0, 1.0]
    assert summary.tokens_per_agent["a"].calls == 12 * 3
    on_disk = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert on_disk["debates"] == 12 and on_disk["debates_per_s"] > 0
    manifest = RunDir(tmp_path / "run").read_manifest()
    assert manifest.scenario_fingerprint == SCENARIO.fingerprint()
    assert [agent.name for agent in manifest.agents] == ["a", "b", "c"]
    assert manifest.dataset.items == 12 and manifest.packages["langgraph"]


def test_rerunning_a_finished_run_calls_no_model_and_changes_nothing(tmp_path):
    run_dataset(SCENARIO, ITEMS, tmp_path, backends=ScriptedBackend(adder), options=QUIET)
    before = lines(tmp_path)
    again = ScriptedBackend(adder)
    summary = run_dataset(SCENARIO, ITEMS, tmp_path, backends=again, options=QUIET)
    assert again.calls == [] and lines(tmp_path) == before and summary.debates == 12
    assert len(RunDir(tmp_path).read_manifest().sessions) == 2


def test_a_torn_last_line_is_cut_and_its_debate_runs_again(tmp_path):
    run_dataset(SCENARIO, ITEMS[:5], tmp_path, backends=ScriptedBackend(adder), options=QUIET)
    whole = (tmp_path / "results.jsonl").read_text()
    last = whole.splitlines(keepends=True)[-1]
    (tmp_path / "results.jsonl").write_text(whole[: -len(last)] + last[: len(last) // 2])  # killed mid-write

    backend = ScriptedBackend(adder)
    summary = run_dataset(SCENARIO, ITEMS, tmp_path, backends=backend, options=QUIET)
    ids = [json.loads(line)["transcript"]["debate_id"] for line in lines(tmp_path)]
    assert sorted(ids) == sorted(ids_of(ITEMS))  # every debate exactly once
    assert len({r.debate_id for r in backend.completed}) == 12 - 4  # the torn one ran again
    assert summary.complete and summary.accuracy == 1.0


def test_failed_debates_are_recorded_and_retry_failed_redoes_only_them(tmp_path):
    failing = set(ids_of(ITEMS[2:4]))
    flaky = ScriptedBackend(
        adder, fail_if=lambda request: request.debate_id in failing and request.round == 1
    )
    summary = run_dataset(SCENARIO, ITEMS, tmp_path, backends=flaky, options=QUIET)

    assert (summary.debates, summary.failed, summary.complete) == (12, 2, True)
    assert {f.debate_id for f in summary.failures} == failing
    assert all(f.reason.startswith("BackendError: scripted failure for agent") for f in summary.failures)
    failed = [r for r in load_results(tmp_path / "results.jsonl") if r.failed]
    assert {r.stop_reason for r in failed} == {"failed"} and {r.gold for r in failed} == {"4", "6"}

    healthy = ScriptedBackend(adder)
    summary = run_dataset(SCENARIO, ITEMS, tmp_path, backends=healthy, options=QUIET, retry_failed=True)
    assert {r.debate_id for r in healthy.calls} == failing
    assert (summary.debates, summary.failed, summary.accuracy) == (12, 0, 1.0)
    assert len(lines(tmp_path)) == 12


def test_a_debate_without_a_parseable_answer_counts_as_wrong_with_the_parsers_reason_and_is_not_retried(
    tmp_path,
):
    mute = ids_of(ITEMS[:1])[0]
    backend = ScriptedBackend(
        lambda request: "I would rather not say." if request.debate_id == mute else adder(request)
    )
    summary = run_dataset(SCENARIO, ITEMS[:3], tmp_path, backends=backend, options=QUIET)
    assert (summary.answered, summary.no_answer, summary.failed, summary.accuracy) == (2, 1, 0, 2 / 3)
    assert summary.no_answers == [
        DebateNote(
            debate_id=mute,
            reason="no valid final answer (a: no number found in the response; "
            "b: no number found in the response; c: no number found in the response)",
        )
    ]
    [result] = [r for r in load_results(tmp_path / "results.jsonl") if r.outcome is Outcome.NO_ANSWER]
    assert (result.debate_id, result.correct, len(result.transcript.messages)) == (mute, False, 9)

    healthy = ScriptedBackend(adder)
    again = run_dataset(SCENARIO, ITEMS[:3], tmp_path, backends=healthy, options=QUIET, retry_failed=True)
    assert healthy.calls == [] and again.no_answer == 1  # a model's bad answer is not re-sampled


def test_with_checkpoints_a_retried_debate_resumes_after_its_last_finished_step(tmp_path):
    [broken] = ids_of(ITEMS[5:6])
    flaky = ScriptedBackend(
        adder,
        fail_if=lambda request: request.debate_id == broken and request.agent == "b" and request.round == 2,
    )
    options = QUIET.model_copy(update={"checkpoints": True})
    first = run_dataset(SCENARIO, ITEMS, tmp_path, backends=flaky, options=options)
    assert first.failed == 1 and (tmp_path / "checkpoints.sqlite").exists()
    [failed] = [r for r in load_results(tmp_path / "results.jsonl") if r.failed]
    assert len(failed.transcript.messages) == 8  # what it said before failing, from the checkpoint

    healthy = ScriptedBackend(adder)
    second = run_dataset(SCENARIO, ITEMS, tmp_path, backends=healthy, options=options, retry_failed=True)
    assert [(r.debate_id, r.agent, r.round) for r in healthy.calls] == [
        (broken, "b", 2)
    ]  # nothing else repeated
    assert (second.failed, second.accuracy) == (0, 1.0)
    assert not (tmp_path / "checkpoints.sqlite").exists()  # complete without failures: nothing in flight


def test_with_checkpoints_a_debate_without_an_answer_is_finished_too(tmp_path):
    [mute] = ids_of(ITEMS[:1])
    options = QUIET.model_copy(update={"checkpoints": True})
    silent = ScriptedBackend(lambda request: "no idea" if request.debate_id == mute else adder(request))
    first = run_dataset(SCENARIO, ITEMS[:2], tmp_path, backends=silent, options=options)
    assert (first.no_answer, first.failed) == (1, 0)
    assert not (tmp_path / "checkpoints.sqlite").exists()  # complete without failures: nothing in flight
    healthy = ScriptedBackend(adder)
    second = run_dataset(SCENARIO, ITEMS[:2], tmp_path, backends=healthy, options=options, retry_failed=True)
    assert healthy.calls == [] and (second.no_answer, second.failed) == (1, 0)


class InFlightBackend(ScriptedBackend):
    """Counts requests and debates in flight at once."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.requests_now, self.most_requests = 0, 0
        self.debates_now, self.most_debates = {}, 0

    async def _one(self, request):
        self.requests_now += 1
        self.debates_now[request.debate_id] = self.debates_now.get(request.debate_id, 0) + 1
        self.most_requests = max(self.most_requests, self.requests_now)
        self.most_debates = max(self.most_debates, len(self.debates_now))
        try:
            return await super()._one(request)
        finally:
            self.requests_now -= 1
            self.debates_now[request.debate_id] -= 1
            if not self.debates_now[request.debate_id]:
                del self.debates_now[request.debate_id]


def test_concurrency_bounds_debates_in_flight_and_their_requests_reach_the_backend_together(tmp_path):
    backend = InFlightBackend(adder, latency_s=0.01)
    run_dataset(SCENARIO, ITEMS, tmp_path, backends=backend, options=QUIET)  # concurrency 4, 3 debaters
    assert backend.most_debates == 4
    assert backend.most_requests == 12  # four debates' rounds at once: what a batching server wants


def test_items_are_read_only_when_a_debate_slot_is_free(tmp_path):
    in_flight_when_read = []

    def items():
        for position, item in enumerate(ITEMS):
            written = len(lines(tmp_path)) if (tmp_path / "results.jsonl").exists() else 0
            in_flight_when_read.append(position - written)
            yield item

    run_dataset(SCENARIO, items(), tmp_path, backends=ScriptedBackend(adder, latency_s=0.005), options=QUIET)
    assert max(in_flight_when_read) == 4  # never more than `concurrency` items held beyond the written ones


def test_a_different_scenario_is_refused_unless_forced(tmp_path):
    run_dataset(SCENARIO, ITEMS[:2], tmp_path, backends=ScriptedBackend(adder), options=QUIET)
    changed = SCENARIO.model_copy(update={"rounds": 2})
    with pytest.raises(RunDirMismatch, match=r"the scenario changed: .* fingerprint .*--force to start over"):
        run_dataset(changed, ITEMS[:2], tmp_path, backends=ScriptedBackend(adder), options=QUIET)
    with pytest.raises(
        RunDirMismatch, match="the seed changed: this directory holds seed None, the requested run has 1"
    ):
        run_dataset(
            SCENARIO,
            ITEMS[:2],
            tmp_path,
            backends=ScriptedBackend(adder),
            options=QUIET.model_copy(update={"seed": 1}),
        )

    summary = run_dataset(
        changed, ITEMS[:2], tmp_path, backends=ScriptedBackend(adder), options=QUIET, force=True
    )
    assert summary.debates == 2 and summary.accuracy_per_round == [1.0, 1.0]
    [aside] = tmp_path.glob("replaced-*")
    assert sorted(path.name for path in aside.iterdir()) == ["manifest.json", "results.jsonl", "summary.json"]


def test_a_seed_gives_each_agent_its_own_recorded_sampling_seed_and_reproduces_answers(tmp_path):
    def by_seed(request):
        return f"#### {request.sampling.seed % 1000}"

    def answers(seed, out):
        options = QUIET.model_copy(update={"seed": seed})
        run_dataset(SCENARIO, ITEMS[:3], tmp_path / out, backends=ScriptedBackend(by_seed), options=options)
        results = sorted(load_results(tmp_path / out / "results.jsonl"), key=lambda r: r.debate_id)
        return [[m.answer for m in r.transcript.messages] for r in results], results

    first, results = answers(7, "a")
    again, _ = answers(7, "b")
    other, _ = answers(8, "c")
    assert first == again and first != other
    seeds = {m.author: m.sampling.seed for m in results[0].transcript.messages}
    assert len(set(seeds.values())) == 3  # debaters share a prompt; they must not share a seed


def test_prices_give_a_cost_per_model(tmp_path):
    options = QUIET.model_copy(update={"prices": {"scripted": (1.0, 2.0)}})
    summary = run_dataset(SCENARIO, ITEMS[:2], tmp_path, backends=ScriptedBackend(adder), options=options)
    tokens = summary.tokens_per_model["scripted"]
    assert summary.total_cost == pytest.approx(
        (tokens.prompt_tokens * 1.0 + tokens.completion_tokens * 2.0) / 1e6
    )
    assert RunDir(tmp_path).read_manifest().prices == {"scripted": (1.0, 2.0)}


def test_secrets_in_backend_uris_and_the_command_line_never_reach_the_run_directory(tmp_path):
    register_scheme("test-secret", lambda rest: ScriptedBackend(adder))
    uri = "test-secret://admin:hunter2@gpu1:8000/v1?model=m&api_key=sk-live-0123456789abcdefghij"
    run_dataset(
        SCENARIO,
        ITEMS[:2],
        tmp_path,
        backends={"default": uri},
        options=QUIET,
        command=["debate", "run", "--backend", uri],
    )
    written = "".join(path.read_text() for path in tmp_path.iterdir() if path.is_file())
    assert "hunter2" not in written and "sk-live" not in written
    assert RunDir(tmp_path).read_manifest().backends == {
        "default": "test-secret://***@gpu1:8000/v1?model=m&api_key=***"
    }


def test_one_run_directory_has_one_writer(tmp_path):
    holder = RunDir(tmp_path)
    holder.lock()
    try:
        with pytest.raises(RunDirBusy, match="another process .* is running in this run directory"):
            run_dataset(SCENARIO, ITEMS[:1], tmp_path, backends=ScriptedBackend(adder), options=QUIET)
    finally:
        holder.unlock()


def test_max_failures_stops_starting_debates(tmp_path):
    dead = ScriptedBackend(adder, fail_if=lambda request: True)
    options = QUIET.model_copy(update={"max_failures": 3, "concurrency": 1})
    summary = run_dataset(SCENARIO, ITEMS, tmp_path, backends=dead, options=options)
    assert (summary.debates, summary.failed, summary.complete) == (3, 3, False)


def test_the_async_runner_runs_inside_an_event_loop(tmp_path):
    from debate.runner import arun_dataset

    summary = asyncio.run(
        arun_dataset(SCENARIO, ITEMS[:2], tmp_path, backends=ScriptedBackend(adder), options=QUIET)
    )
    assert summary.accuracy == 1.0


def test_an_exception_that_is_not_a_backend_error_is_recorded_too(tmp_path):
    def broken(request):
        raise KeyError("tokenizer missing")

    summary = run_dataset(SCENARIO, ITEMS[:2], tmp_path, backends=ScriptedBackend(broken), options=QUIET)
    assert summary.failed == 2 and summary.failures[0].reason == "KeyError: 'tokenizer missing'"


def test_items_repeating_an_earlier_item_run_once_and_the_run_is_still_complete(tmp_path):
    repeated = [*ITEMS[:3], ITEMS[1]]
    summary = run_dataset(SCENARIO, repeated, tmp_path, backends=ScriptedBackend(adder), options=QUIET)
    assert (summary.debates, summary.expected_debates, summary.complete) == (3, 3, True)
    summary = run_dataset(SCENARIO, repeated, tmp_path, backends=ScriptedBackend(adder), options=QUIET)
    assert (summary.debates, summary.expected_debates, summary.complete) == (3, 3, True)


def test_the_python_example_in_docs_running_md_runs(tmp_path, monkeypatch, capsys):
    from pathlib import Path

    text = (Path(__file__).parent.parent / "docs" / "running.md").read_text()
    [code] = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    exec(compile(code.replace("/tmp/runs/python-api", str(tmp_path)), "docs/running.md", "exec"), {})
    assert capsys.readouterr().out == "20 0.1\n"  # two of the first 20 GSM8K answers are 18
