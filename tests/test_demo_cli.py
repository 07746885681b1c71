"""`debate demo` end to end on a scripted model whose right and wrong answers are known, and so its numbers.

The scripted agents answer four test problems as ``SCRIPT`` says. The
numbers the demo must print follow by hand:

- single agent: right on problems 0 and 1 -> 50% (its non-answer to problem 3 counts as wrong);
- a debater alone in round 0: 3 + 1 + 1 + 0 of 12 answers -> 41.7%;
- majority vote in round 0: only problem 0 -> 25%;
- after round 1 (and 2): problems 0 (agreed at once, carried forward), 1 and 2 -> 75%;
- final answer: 75%, so the debate adds 25 points over one agent and 50 over voting.
"""

import json
import re

import pytest

from debate import ChatRequest, ScriptedBackend, register_scheme
from debate.arithmetic import load_arithmetic
from debate.cli import main
from debate.demo import compare_with_baseline, run_demo

PROBLEMS = list(load_arithmetic("test", limit=4))
GOLD = {problem.id: int(problem.gold) for problem in PROBLEMS}

SCRIPT = {
    # what each agent answers: R(ight), W(rong) or - (no number); a letter per round, the last repeats
    "arithmetic-test-0": {"solver": "R", "a": "R", "b": "R", "c": "R"},  # everyone right at once
    "arithmetic-test-1": {"solver": "R", "a": "RR", "b": "WR", "c": "WR"},  # a wrong majority, put right
    "arithmetic-test-2": {"solver": "W", "a": "WR", "b": "RR", "c": "WW"},  # right by majority after round 1
    "arithmetic-test-3": {"solver": "-", "a": "W", "b": "W", "c": "W"},  # everyone agrees on the same wrong
}
"""``solver`` is the one agent of ``arithmetic_single``; ``a``, ``b``, ``c`` debate in ``arithmetic_rcr``."""


def scripted_answer(request: ChatRequest) -> str:
    problem = re.search(r"(arithmetic-test-\d+)-[0-9a-f]+$", request.debate_id)[1]
    plan = SCRIPT[problem][request.agent]
    answer = {"R": f"#### {GOLD[problem]}", "W": f"#### {GOLD[problem] + 1}", "-": "I do not know."}
    return answer[plan[min(request.round, len(plan) - 1)]]


MODEL = ScriptedBackend(scripted_answer)
register_scheme("test-demo", lambda rest: MODEL)


@pytest.fixture
def debate_home(tmp_path, monkeypatch):
    """A fresh machine: nothing built, nothing run."""
    monkeypatch.setenv("DEBATE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def demo(*flags):
    return main(["demo", "--items", "4", "--progress", "off", *flags])


def test_debate_demo_prints_accuracy_per_round_against_the_baseline(debate_home, capsys):
    out = debate_home / "demo-runs"
    assert demo("--backend", "test-demo:") == 0
    printed = capsys.readouterr().out
    for label, number in [
        ("single agent", "50.0%"),
        ("debate round 0, a debater alone", "41.7%"),
        ("debate round 0, majority vote", "25.0%"),
        ("debate round 1, majority vote", "75.0%"),
        ("debate round 2, majority vote", "75.0%"),
        ("debate final answer", "75.0%"),
        ("debate - single", "+25.0 pts"),
        ("debate - round-0 majority vote", "+50.0 pts"),
    ]:
        row = rf"^{re.escape(label)} +{re.escape(number)} +\[.*\] +4$"  # value, 95% interval, n
        assert re.search(row, printed, re.MULTILINE), label
    assert "without a valid answer (counted as wrong): arithmetic_single 1" in printed
    assert f"report: {out / 'report' / 'index.html'}" in printed
    assert "wall time: " in printed

    numbers = json.loads((out / "demo.json").read_text())
    assert numbers["items"] == 4 and numbers["failed"] == {"arithmetic_single": 0, "arithmetic_rcr": 0}
    assert numbers["no_answer"] == {"arithmetic_single": 1, "arithmetic_rcr": 0}
    assert numbers["accuracy"]["debate"]["value"] == 0.75
    assert numbers["accuracy"]["debate_minus_single"]["value"] == 0.25
    assert "arithmetic-test-3" in (out / "report" / "index.html").read_text()
    # the per-round votes are the ones summary.json counts
    summary = json.loads((out / "arithmetic_rcr" / "summary.json").read_text())
    assert [e["value"] for e in numbers["accuracy"]["majority_per_round"]] == summary["accuracy_per_round"]


def test_a_rerun_reuses_the_finished_debates(debate_home, capsys):
    demo("--backend", "test-demo:")
    first, calls = capsys.readouterr().out, len(MODEL.calls)
    assert demo("--backend", "test-demo:") == 0
    assert len(MODEL.calls) == calls
    table = lambda printed: printed.split("\n\n")[1]  # noqa: E731 - the accuracy rows
    assert table(capsys.readouterr().out) == table(first)


def test_the_model_is_built_only_when_it_is_missing(debate_home, monkeypatch, capsys):
    import debate.demo
    import debate.demo_model

    builds, ready = [], {"now": False}

    def build_demo_model(out_dir, *, progress=True, **_):
        builds.append(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "model.safetensors").write_text("weights" * len(builds))  # each build writes new weights
        ready["now"] = True
        return type("DemoBuild", (), {"path": out_dir, "parameters": 1e6, "seconds": 1.0})

    monkeypatch.setattr(debate.demo_model, "build_demo_model", build_demo_model)
    monkeypatch.setattr(debate.demo_model, "demo_model_ready", lambda path: ready["now"], raising=False)
    monkeypatch.setattr(debate.demo, "served_model_uri", lambda path: "test-demo:")
    calls = len(MODEL.calls)

    assert demo("--progress", "log") == 0
    assert builds == [debate_home / "demo-model"]
    assert "building the demo model" in capsys.readouterr().err
    debated = len(MODEL.calls) - calls

    assert demo() == 0  # built, and its debates done
    assert len(builds) == 1 and len(MODEL.calls) == calls + debated

    assert demo("--rebuild", "--progress", "log") == 0  # a new model: its debates run again
    assert len(builds) == 2 and len(MODEL.calls) == calls + 2 * debated
    assert "the model changed; moved the earlier arithmetic_rcr run" in capsys.readouterr().err


def test_a_named_model_directory_that_holds_a_model_is_used_as_it_is(tmp_path, monkeypatch):
    import debate.demo_model
    from debate.demo import ensure_demo_model

    def no_build(*args, **kwargs):
        raise AssertionError("built over the user's model")

    monkeypatch.setattr(debate.demo_model, "build_demo_model", no_build)
    trained = tmp_path / "evolved"
    trained.mkdir()
    (trained / "config.json").write_text("{}")
    assert ensure_demo_model(trained) == trained


def test_run_demo_from_python_with_a_backend_object(tmp_path):
    result = run_demo(tmp_path / "demo", items=4, backend=ScriptedBackend(scripted_answer), progress="off")
    assert result.accuracy.single.value == 0.5
    assert [round(e.value, 3) for e in result.accuracy.majority_per_round] == [0.25, 0.75, 0.75]
    assert result.runs["arithmetic_rcr"] == tmp_path / "demo" / "arithmetic_rcr"


def test_bad_flags_are_named(debate_home, capsys):
    assert main(["demo", "--items", "0", "--backend", "test-demo:"]) == 2
    assert "items: expected 1 to 500" in capsys.readouterr().err
    assert main(["demo", "--backend", "test-demo:", "--rebuild"]) == 2
    assert "give one or the other" in capsys.readouterr().err


def test_comparing_needs_the_same_problems():
    with pytest.raises(ValueError, match="single, debate: expected the same problems"):
        compare_with_baseline([], [], debaters=3, rounds=3)
