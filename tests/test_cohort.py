"""Cohorts (``debate.cohort``): many debates in one LangGraph invocation write exactly what one graph per debate writes.

Each scenario below runs twice over the same items with the same seed, once
with ``RunOptions(cohorts=False)`` (a graph per debate, the path checkpoints
use) and once in cohorts (the default); ``results.jsonl`` must hold the same
lines, byte for byte, once the timing fields are set aside.
"""

import hashlib
import json
import subprocess

import pytest
from test_runner_resume import ITEMS as KILL_ITEMS
from test_runner_resume import command, final_answers, prepare, result_lines, run_and_kill, with_calls_log

from debate import Critic, Debater, Judge, Refiner, Scenario, ScriptedBackend
from debate.datasets import Item
from debate.runner import RunOptions, run_dataset
from debate.runner.runner import InProcessDebates

ITEMS = [
    Item(id=f"q{i}", question=f"Question {i}: what is {i} + {i}?", gold=str(2 * i), metadata={"level": i % 3})
    for i in range(14)
]
TIMING = ("wall_time_s", "latency_s", "elapsed_s", "debates_per_s", "tokens_per_s")


def _digit(*parts: object) -> int:
    return hashlib.sha256("/".join(map(str, parts)).encode()).digest()[0]


def diverging(request):
    """Answers that differ by debate, agent and round: some debates agree at once, some later, some never."""
    roll = _digit(request.sampling.seed, request.debate_id, request.agent, request.round)
    if request.agent == "judge":
        decision = "STOP" if roll % 3 == 0 else "CONTINUE"
        return f"The best answer is {roll % 3}.\nDecision: {decision}\n#### {roll % 3}"
    if roll % 7 == 0:
        return "I cannot tell."  # no parsable answer
    return f"Reasoning for round {request.round}.\n#### {roll % (2 + request.round)}"


SCENARIOS = {
    "rcr-fixed": Scenario(
        name="cohort-rcr", agents=[Debater(n) for n in "abc"], protocol="rcr", rounds=3, stop="fixed"
    ),
    # agents not in alphabetical order: a round's messages keep the order a debate's own graph gives them
    "simultaneous-consensus-ring": Scenario(
        name="cohort-sim",
        agents=[Debater("zed"), Debater("amy"), Debater("bob"), Debater("kim")],
        protocol="simultaneous",
        rounds=4,
        topology="ring",
        stop="consensus",
    ),
    # PBT branching: a round-1 turn that a peer disagreed with also answers told to accept and to resist
    "rcr-branching": Scenario(
        name="cohort-branch",
        agents=[Debater(n) for n in "abc"],
        protocol="rcr",
        rounds=3,
        stop="fixed",
        branch_at=1,
    ),
    # referees take turns, each reading the earlier turns of its round
    "chateval-one-by-one": Scenario(
        name="cohort-chateval",
        agents=[Debater("zed"), Debater("amy"), Debater("bob")],
        protocol="chateval",
        rounds=3,
        stop="consensus",
    ),
    "chateval-simultaneous-judge": Scenario(
        name="cohort-chateval-sim",
        agents=[Debater(n) for n in "abc"],
        judge=Judge("judge"),
        protocol="chateval_simultaneous",
        rounds=2,
        stop="judge",
    ),
    "judge-steers": Scenario(
        name="cohort-judge",
        agents=[Debater(n) for n in "abc"],
        judge=Judge("judge"),
        protocol="rcr",
        rounds=3,
        stop="judge",
    ),
    "judge-decides-after-consensus": Scenario(
        name="cohort-judge-aggregates",
        agents=[Debater(n) for n in "ab"],
        judge=Judge("judge"),
        protocol="simultaneous",
        rounds=3,
        stop="consensus",
        aggregate="judge",
        temperature_schedule=[1.0, 0.7, 0.2],
        private_confidence=True,
    ),
}


def run_lines(tmp_path, name, scenario, backend, **options):
    out = tmp_path / name
    run_dataset(scenario, ITEMS, out, backends=backend, options=RunOptions(progress="off", seed=7, **options))
    return {json.loads(line)["transcript"]["debate_id"]: without_timing(line) for line in lines(out)}


def lines(run_dir):
    return (run_dir / "results.jsonl").read_text().splitlines()


def without_timing(line: str) -> str:
    """The line re-serialised with timing fields zeroed (key order kept, so the rest compares byte for byte)."""

    def strip(value):
        if isinstance(value, dict):
            return {key: 0 if key in TIMING else strip(item) for key, item in value.items()}
        if isinstance(value, list):
            return [strip(item) for item in value]
        return value

    return json.dumps(strip(json.loads(line)))


# (concurrency, cohort_size): slots refilled by small cohorts as debates end; one cohort; several at once
@pytest.mark.parametrize(("concurrency", "cohort_size"), [(5, 64), (32, 64), (32, 4)])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_cohorts_write_the_same_results_as_one_graph_per_debate(tmp_path, name, concurrency, cohort_size):
    scenario = SCENARIOS[name]
    one_each = run_lines(
        tmp_path, "one-each", scenario, ScriptedBackend(diverging), cohorts=False, concurrency=concurrency
    )
    cohorts = run_lines(
        tmp_path,
        "cohorts",
        scenario,
        ScriptedBackend(diverging),
        concurrency=concurrency,
        cohort_size=cohort_size,
    )
    assert len(cohorts) == len(ITEMS)
    assert cohorts == one_each
    stops = {json.loads(line)["stop_reason"] for line in cohorts.values()}
    assert len(stops) > 1 or scenario.stop == "fixed"  # debates left their cohort at different rounds
    if name == "rcr-branching":
        assert any(json.loads(line).get("transcript", {}).get("branches") for line in cohorts.values())


@pytest.mark.parametrize(("name", "failing_agent"), [("rcr-fixed", "b"), ("judge-steers", "judge")])
def test_a_failing_debate_leaves_its_cohort_with_the_same_line_and_the_others_finish(
    tmp_path, name, failing_agent
):
    def fails_for_some(request):
        return request.round == 1 and request.agent == failing_agent and _digit(request.debate_id) % 3 == 0

    scenario = SCENARIOS[name]
    one_each = run_lines(
        tmp_path, "one-each", scenario, ScriptedBackend(diverging, fail_if=fails_for_some), cohorts=False
    )
    cohorts = run_lines(tmp_path, "cohorts", scenario, ScriptedBackend(diverging, fail_if=fails_for_some))
    assert cohorts == one_each
    outcomes = [json.loads(line)["outcome"] for line in cohorts.values()]
    assert 0 < outcomes.count("failed") < len(ITEMS)


def test_retry_failed_in_cohorts_reruns_only_the_failed_debates(tmp_path):
    scenario = SCENARIOS["rcr-fixed"]
    flaky = ScriptedBackend(diverging, fail_if=lambda request: request.debate_id.startswith("cohort-rcr-q1"))
    first = run_dataset(scenario, ITEMS, tmp_path, backends=flaky, options=RunOptions(progress="off", seed=7))
    assert first.failed == 5  # q1, q10 .. q13
    healthy = ScriptedBackend(diverging)
    second = run_dataset(
        scenario,
        ITEMS,
        tmp_path,
        backends=healthy,
        options=RunOptions(progress="off", seed=7),
        retry_failed=True,
    )
    assert (second.failed, second.debates, second.complete) == (0, len(ITEMS), True)
    assert {request.debate_id for request in healthy.calls} == {
        debate_id
        for debate_id in (json.loads(line)["transcript"]["debate_id"] for line in lines(tmp_path))
        if debate_id.startswith("cohort-rcr-q1")
    }
    reference = run_lines(tmp_path, "reference", scenario, ScriptedBackend(diverging))
    assert {
        json.loads(line)["transcript"]["debate_id"]: without_timing(line) for line in lines(tmp_path)
    } == reference


def test_which_runs_use_cohorts():
    backend = ScriptedBackend(diverging)
    assert InProcessDebates(SCENARIOS["rcr-fixed"], backend, RunOptions()).cohort is not None
    assert InProcessDebates(SCENARIOS["rcr-fixed"], backend, RunOptions(cohorts=False)).cohort is None
    assert InProcessDebates(SCENARIOS["rcr-fixed"], backend, RunOptions(checkpoints=True)).cohort is None
    critic_refiner = Scenario(
        name="cr",
        agents=[Debater("drafter"), Critic("critic"), Refiner("refiner")],
        judge=Judge("judge"),
        protocol="critic_refiner",
        rounds=2,
        stop="fixed",
    )
    assert InProcessDebates(critic_refiner, backend, RunOptions()).cohort is None  # a graph of its own shape


def complete_lines_ids(run_dir):
    """Ids of the debates whose line is complete (a process killed mid-write may leave a torn last one)."""
    path = run_dir / "results.jsonl"
    text = path.read_text() if path.exists() else ""
    return {json.loads(line)["transcript"]["debate_id"] for line in text[: text.rfind("\n") + 1].splitlines()}


def test_sigkill_in_cohorts_loses_no_finished_debate_and_the_rerun_runs_only_unfinished_ones(tmp_path):
    """Without checkpoints (so in cohorts): a kill loses the debates in flight, which the rerun runs from scratch."""
    prepare(tmp_path)
    reference = subprocess.run(
        command(tmp_path, "reference"), capture_output=True, text=True, timeout=120,
        env=with_calls_log(tmp_path / "reference-calls.log"),
    )  # fmt: skip
    assert reference.returncode == 0, reference.stderr
    killed_dir = tmp_path / "killed"
    argv = command(tmp_path, "killed")
    calls_log = tmp_path / "killed-calls.log"
    env = with_calls_log(calls_log)
    finished_before, kills = [], []
    for after in (0, 8, 20):
        kills.append(run_and_kill(argv, killed_dir, after, env))
        done = complete_lines_ids(killed_dir)  # a line torn by the kill is cut, and its debate runs again
        finished_before.append((calls_log.read_text().count("\n") if calls_log.exists() else 0, done))
    assert sum(kills) >= 2, f"the run finished before most kill points: {kills}"
    assert result_lines(killed_dir) < KILL_ITEMS

    finished = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=env)
    assert finished.returncode == 0, finished.stderr
    answers = final_answers(killed_dir)
    assert all(len(found) == 1 for found in answers.values())  # every debate exactly once
    expected = final_answers(tmp_path / "reference")
    assert {debate: found[0] for debate, found in answers.items()} == {d: a[0] for d, a in expected.items()}
    calls = [line.split()[0] for line in calls_log.read_text().splitlines()]
    for calls_so_far, done in finished_before:  # after each kill, no finished debate was called again
        assert not done & set(calls[calls_so_far:])


def test_summary_json_sums_every_line_of_results_jsonl_across_sessions(tmp_path):
    """The runner adds each result to the summary as it writes it; that is what summarising the file gives."""
    from debate.summary import summarize
    from debate.transcript import load_results

    scenario = SCENARIOS["judge-decides-after-consensus"]
    flaky = ScriptedBackend(
        diverging, fail_if=lambda request: request.debate_id.startswith("cohort-judge-aggregates-q1")
    )
    options = RunOptions(progress="off", seed=7, concurrency=4)
    run_dataset(scenario, ITEMS[:9], tmp_path, backends=flaky, options=options)
    run_dataset(
        scenario, ITEMS, tmp_path, backends=ScriptedBackend(diverging), options=options, retry_failed=True
    )
    written = json.loads((tmp_path / "summary.json").read_text())
    recomputed = summarize(load_results(tmp_path / "results.jsonl")).model_dump(mode="json")
    assert {key: written[key] for key in recomputed} == recomputed
    assert written["debates"] == len(ITEMS) and written["failed"] == 0


@pytest.mark.slow
def test_ray_workers_debate_in_cohorts_too_with_the_same_lines(tmp_path):
    pytest.importorskip("ray")
    prepare(tmp_path)
    env = with_calls_log(tmp_path / "calls.log")
    one_each = subprocess.run(
        command(tmp_path, "one-each", "--no-cohorts"), capture_output=True, text=True, timeout=180, env=env
    )
    on_ray = subprocess.run(
        command(tmp_path, "ray", "--ray", "--workers", "2"),
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
    )
    assert one_each.returncode == 0 and on_ray.returncode == 0, on_ray.stderr

    def by_id(run_dir):
        return {json.loads(line)["transcript"]["debate_id"]: without_timing(line) for line in lines(run_dir)}

    assert by_id(tmp_path / "ray") == by_id(tmp_path / "one-each")
    assert len(by_id(tmp_path / "ray")) == KILL_ITEMS
