"""`debate report`: a self-contained HTML report of run directories, its numbers, plots and escaping.

The helpers at the top build run directories the way users get them (``run_dataset``
with a scripted backend) and, for size tests, straight from ``DebateResult``s;
tests/test_report_browser.py reuses them.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from debate import Debater, DebateResult, Judge, Scenario, ScriptedBackend, load_results, save_results
from debate.cli import main
from debate.datasets import Item
from debate.messages import Message, MessageKind, Role, Usage
from debate.report import write_report
from debate.report.page import script_json
from debate.runner import RunOptions, run_dataset
from debate.summary import summarize
from debate.transcript import Transcript

PAYLOAD = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=1">'

SCENARIO = Scenario(
    name="report-test",
    agents=[Debater(name) for name in "abc"],
    judge=Judge("judge"),
    protocol="rcr",
    rounds=2,
    stop="fixed",
    aggregate="judge",
)
ITEMS = [Item(id=f"q{i}", question=f"What is {i} + {i}?", gold=str(2 * i)) for i in range(10)]
FAILING_ITEM = 7
PRICES = {"scripted": (1.0, 2.0)}


def debaters_and_judge(request):
    """Agent c starts wrong on odd questions and is convinced in round 1; a flips to wrong on question 2;
    the judge is wrong on questions 3 and 9; a's first answer to question 0 carries an HTML payload."""
    i = int(re.search(r"What is (\d+) \+", request.messages[-1].content).group(1))
    right, wrong = 2 * i, 2 * i + 1
    answer = right
    if request.agent == "c" and request.round == 0 and i % 2:
        answer = wrong
    if request.agent == "a" and request.round == 1 and i == 2:
        answer = wrong
    if request.agent == "judge" and i in (3, 9):
        answer = wrong
    text = PAYLOAD if (request.agent == "a" and request.round == 0 and i == 0) else f"{i} + {i} = {answer}"
    return f"{text}\n#### {answer}\nConfidence: {0.9 if answer == right else 0.6}"


def make_run(path: Path, items: list[Item] = ITEMS, scenario: Scenario = SCENARIO) -> Path:
    """A finished run directory: 10 debates, one failed, with flips, a wrong judge and prices."""
    backend = ScriptedBackend(
        debaters_and_judge,
        fail_if=lambda request: (
            f"What is {FAILING_ITEM} +" in request.messages[-1].content and request.round == 1
        ),
    )
    options = RunOptions(concurrency=4, progress="off", prices=PRICES)
    run_dataset(scenario, items, path, backends=backend, options=options)
    return path


def synthetic_result(index: int, *, scenario: str = "report-synthetic") -> DebateResult:
    """A two-round, three-debater debate with a verdict, built without running anything (for large runs)."""
    debate_id = f"{scenario}-{index:05d}"
    gold = str(index % 7)
    wrong = str(index % 7 + 1)
    first_c = wrong if index % 3 == 0 else gold  # c starts wrong on every third debate...
    final_c = wrong if index % 9 == 0 else gold  # ...and stays wrong on every ninth
    messages = []
    for round_, kind, answers in (
        (0, MessageKind.ARGUMENT, {"a": gold, "b": gold, "c": first_c}),
        (1, MessageKind.REFINEMENT, {"a": gold, "b": gold, "c": final_c}),
    ):
        previous = [m.id for m in messages if m.round == round_ - 1]
        for author, answer in answers.items():
            messages.append(
                Message(
                    id=f"{debate_id}/r{round_}/{author}/{kind.value}",
                    debate_id=debate_id,
                    round=round_,
                    author=author,
                    role=Role.DEBATER,
                    kind=kind,
                    text=f"Debate {index}, {author} in round {round_}: I think it is {answer}.\n#### {answer}",
                    answer=answer,
                    confidence=0.9 if answer == gold else 0.5,
                    responds_to=previous,
                    model="synthetic-model",
                    usage=Usage(prompt_tokens=100, completion_tokens=20),
                    latency_s=0.01,
                )
            )
    verdict = final_c if index % 9 == 0 and index % 2 else gold
    messages.append(
        Message(
            id=f"{debate_id}/r1/judge/verdict",
            debate_id=debate_id,
            round=1,
            author="judge",
            role=Role.JUDGE,
            kind=MessageKind.VERDICT,
            text=f"The answer is {verdict}.\n#### {verdict}",
            answer=verdict,
            responds_to=[m.id for m in messages if m.round == 1],
            model="synthetic-model",
            usage=Usage(prompt_tokens=300, completion_tokens=10),
        )
    )
    transcript = Transcript(
        debate_id=debate_id,
        scenario=scenario,
        question=f"Question {index}: what is {index} mod 7?",
        messages=messages,
    )
    result = DebateResult(
        transcript=transcript, final_answer=verdict, stop_reason="max_rounds", gold=gold, wall_time_s=0.05
    )
    return result.recompute_dynamics()


def make_large_run(path: Path, debates: int, manifest_from: Path) -> Path:
    """A run directory of ``debates`` synthetic debates, with the manifest of a small real run."""
    path.mkdir(parents=True)
    shutil.copy(manifest_from / "manifest.json", path / "manifest.json")
    save_results(path / "results.jsonl", (synthetic_result(i) for i in range(debates)))
    return path


def embedded_data(index_html: str) -> dict:
    block = re.search(r"<script type='application/json' id='data'>(.*?)</script>", index_html, re.S)
    assert block is not None
    return json.loads(block.group(1))


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return make_run(tmp_path_factory.mktemp("report") / "run")


@pytest.fixture(scope="module")
def report(run, tmp_path_factory) -> str:
    return write_report([run], tmp_path_factory.mktemp("out") / "report").read_text(encoding="utf-8")


# -- the file -------------------------------------------------------------------------------------


def test_a_report_is_one_file_that_needs_no_network_plus_its_plots_as_png(run, tmp_path):
    index = write_report([run], tmp_path / "report")

    assert index == tmp_path / "report" / "index.html"
    page = index.read_text(encoding="utf-8")
    assert "://" not in page  # no CDN, no remote font, no link anywhere
    assert "default-src 'none'; img-src data:" in page
    plots = sorted(path.name for path in (tmp_path / "report" / "plots").iterdir())
    assert plots == ["accuracy_by_round.png", "agreement_by_round.png", "calibration.png"]
    for plot in plots:
        png = (tmp_path / "report" / "plots" / plot).read_bytes()
        assert png.startswith(b"\x89PNG") and html.escape(plot) in page
    assert page.count("src='data:image/png;base64,") == 3


def test_every_debate_is_embedded_with_its_messages_and_reply_links(run, report):
    results = list(load_results(run / "results.jsonl"))
    data = embedded_data(report)

    [embedded] = data["runs"]
    assert [d["id"] for d in embedded["debates"]] == [r.debate_id for r in results]
    for record, result in zip(embedded["debates"], results, strict=True):
        assert record.get("ok") == result.correct and record["q"] == result.transcript.question
        assert record["o"] == result.outcome.value and record.get("why") == result.reason
        assert bool(record.get("ch")) == bool(result.dynamics.changes)
        messages = result.transcript.messages
        assert [m["t"] for m in record["m"]] == [m.text for m in messages]
        for compact, message in zip(record["m"], messages, strict=True):
            assert [messages[i].id for i in compact.get("re", [])] == message.responds_to
            assert (compact["k"], compact.get("ans"), compact.get("p")) == (
                message.kind.value,
                message.answer,
                message.confidence,
            )


def test_the_summary_shows_the_numbers_of_debate_summary(run, report):
    summary = summarize(load_results(run / "results.jsonl"), PRICES)

    runs_table = re.search(r"<table id='runs'>.*?</table>", report, re.S).group(0)
    assert f"{100 * summary.accuracy:.1f}%" in runs_table
    assert f"<td>{summary.debates}</td><td>{summary.no_answer}</td><td>{summary.failed}</td>" in runs_table
    assert f"${summary.total_cost / summary.debates:.4f}" in runs_table
    flips = re.search(r"<table class='flips'>.*?</table>", report, re.S).group(0)
    c = summary.flips_per_agent["c"]
    assert f"<td>c</td><td>{c.right_to_wrong}</td><td>{c.wrong_to_right}</td>" in flips
    assert c.wrong_to_right == 4  # questions 1, 3, 5 and 9 (7 failed before round 1)
    assert summary.flips_per_agent["a"].right_to_wrong == 1
    for round_, consensus in enumerate(summary.consensus_per_round):
        assert f"<td>{round_}</td><td>{100 * summary.accuracy_per_round[round_]:.1f}%</td>" in report
        assert f"{100 * consensus:.1f}%" in report
    failures = re.search(r"<table class='failures'>.*?</table>", report, re.S).group(0)
    assert html.escape(summary.failures[0].reason) in failures


def test_judge_accuracy_is_the_share_of_verdicts_equal_to_gold_per_protocol(run, report):
    judged = [r for r in load_results(run / "results.jsonl") if not r.failed]
    right = sum(r.transcript.messages[-1].answer == r.gold for r in judged)
    assert right == len(judged) - 2  # the judge is wrong on questions 3 and 9

    table = re.search(r"<table id='judge-accuracy'>.*?</table>", report, re.S).group(0)
    assert f"<td>rcr</td><td>{100 * right / len(judged):.1f}%</td>" in table
    assert f"<td>{len(judged)}</td></tr>" in table


# -- escaping ------------------------------------------------------------------------------------


def test_model_text_cannot_run_code_or_add_markup(report):
    assert PAYLOAD not in report
    assert "<img src=x" not in report and "window.__pwned=1</script>" not in report
    assert report.count("</script>") == 2  # the data block and the app: the payload closed nothing
    assert "\\u003cscript\\u003ewindow.__pwned=1\\u003c/script\\u003e" in report


def test_errors_in_the_summary_are_html_escaped(run, tmp_path):
    broken = tmp_path / "run"
    shutil.copytree(run, broken)
    results = list(load_results(broken / "results.jsonl"))
    failed = next(index for index, result in enumerate(results) if result.failed)
    results[failed] = results[failed].model_copy(update={"reason": f"backend said {PAYLOAD}"})
    save_results(broken / "results.jsonl", results)

    page = write_report([broken], tmp_path / "report").read_text(encoding="utf-8")

    assert PAYLOAD not in page and html.escape(f"backend said {PAYLOAD}") in page


def test_json_in_a_script_element_escapes_what_could_end_it():
    text = "</script><!-- & \u2028 \u2029 -->"
    embedded = script_json({"t": text})
    assert not set("<>&\u2028\u2029") & set(embedded)
    assert json.loads(embedded) == {"t": text}


# -- comparing runs, missing data ----------------------------------------------------------------


def test_several_runs_are_compared_row_by_row_with_cost_plots(run, tmp_path):
    simultaneous = make_run(
        tmp_path / "simultaneous", scenario=SCENARIO.model_copy(update={"protocol": "simultaneous"})
    )

    index = write_report([run, simultaneous], tmp_path / "compare")

    page = index.read_text(encoding="utf-8")
    runs_table = re.search(r"<table id='runs'>.*?</table>", page, re.S).group(0)
    assert (
        runs_table.count("<tr>") == 3
        and "<td>simultaneous</td>" in runs_table
        and "<td>rcr</td>" in runs_table
    )
    assert [r["label"] for r in embedded_data(page)["runs"]] == ["run", "simultaneous"]
    assert "<option value='1'>simultaneous</option>" in page
    plots = {path.stem for path in (tmp_path / "compare" / "plots").iterdir()}
    assert {"accuracy_vs_tokens", "accuracy_vs_cost", "accuracy_vs_seconds"} <= plots


def test_runs_whose_directories_share_a_name_are_labelled_by_path(run, tmp_path):
    other = make_run(tmp_path / "elsewhere" / run.name, items=ITEMS[:2])
    data = embedded_data(write_report([run, other], tmp_path / "out").read_text(encoding="utf-8"))
    assert [r["label"] for r in data["runs"]] == [str(run), str(other)]


def test_plots_without_data_are_left_out_not_drawn_empty(tmp_path):
    no_gold = [item.model_copy(update={"gold": None}) for item in ITEMS[:3]]
    run = make_run(tmp_path / "run", items=no_gold)

    write_report([run], tmp_path / "report")

    assert sorted(p.stem for p in (tmp_path / "report" / "plots").iterdir()) == ["agreement_by_round"]


def test_the_embedded_data_is_smaller_than_the_results_file(tmp_path, run):
    large = make_large_run(tmp_path / "large", 500, manifest_from=run)

    index = write_report([large], tmp_path / "report")

    assert len(embedded_data(index.read_text(encoding="utf-8"))["runs"][0]["debates"]) == 500
    assert index.stat().st_size < 0.5 * (large / "results.jsonl").stat().st_size


# -- the command line ----------------------------------------------------------------------------


def test_debate_report_writes_into_the_run_directory_by_default(run, tmp_path, capsys):
    copy = tmp_path / "run"
    shutil.copytree(run, copy)

    assert main(["report", str(copy)]) == 0

    assert capsys.readouterr().out.strip() == str(copy / "report" / "index.html")
    assert (copy / "report" / "plots" / "accuracy_by_round.png").exists()


def test_debate_report_of_several_runs_needs_an_out_directory(run, capsys):
    assert main(["report", str(run), str(run)]) == 2
    assert "--out: required when comparing several run directories" in capsys.readouterr().err


def test_debate_report_of_a_directory_without_results_says_so(tmp_path, capsys):
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "no results.jsonl here" in capsys.readouterr().err


def test_without_matplotlib_the_cli_still_loads_and_says_what_to_install(run, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError

    assert main(["report", str(run), "--out", str(tmp_path / "out")]) == 2

    assert "pip install 'debate[report]'" in capsys.readouterr().err
