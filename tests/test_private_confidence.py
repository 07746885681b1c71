"""Private confidence (``Scenario.private_confidence``): asked of every debater each round, hidden from
peers and the judge, kept on the message, and scored per round in the summary and the report.

As in "When Two LLMs Debate, Both Think They'll Win": two debaters who disagree both grow surer.
"""

from __future__ import annotations

import json
import re

import pytest

from debate import Debater, Judge, Scenario, ScriptedBackend
from debate.answers import split_private_confidence
from debate.datasets import Item
from debate.metrics import private_confidence
from debate.report import write_report
from debate.runner import RunOptions, run_dataset
from debate.transcript import load_results

SCENARIO = Scenario(
    name="private-confidence",
    agents=[Debater("a"), Debater("b")],
    judge=Judge("judge"),
    protocol="simultaneous",
    rounds=2,
    stop="fixed",
    aggregate="judge",
    private_confidence=True,
)
ITEMS = [Item(id=f"q{i}", question=f"What is {i} + {i}?", gold=str(2 * i)) for i in range(4)]
CONFIDENCE = {("a", 0): 60, ("a", 1): 90, ("b", 0): 70, ("b", 1): 80}
"""Both escalate; a is right, b is wrong, so in each round their confidences sum past 100%."""


def script(request):
    i = int(re.search(r"What is (\d+) \+", request.messages[-1].content).group(1))
    if request.agent == "judge":
        return f"a is right.\n#### {2 * i}\nConfidence: 0.9"
    answer = 2 * i if request.agent == "a" else 2 * i + 1
    return f"I get {answer}.\n#### {answer}\nPrivate confidence: {CONFIDENCE[request.agent, request.round]}%"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    backend = ScriptedBackend(script)
    path = tmp_path_factory.mktemp("private") / "run"
    run_dataset(SCENARIO, ITEMS, path, backends=backend, options=RunOptions(progress="off"))
    return path, backend


def test_the_confidence_is_asked_of_debaters_only_and_hidden_from_peers_and_the_judge(run):
    path, backend = run
    for request in backend.calls:
        prompt = request.messages[-1].content
        assert ("Private confidence: N%" in prompt) == (request.agent != "judge")
        for value in CONFIDENCE.values():
            assert f"Private confidence: {value}%" not in prompt  # nobody reads anyone's stated confidence
    results = list(load_results(path / "results.jsonl"))
    message = results[0].transcript.by_author("a")[1]
    assert message.private_confidence == 0.9
    assert "Private confidence" not in message.text and message.text.endswith("#### 0")
    assert message.confidence is None  # the private line is not read as a public confidence
    assert results[0].transcript.verdicts()[0].private_confidence is None


def test_the_summary_scores_calibration_per_round_and_escalation(run):
    path, _ = run
    summary = json.loads((path / "summary.json").read_text())["private_confidence"]

    assert summary["stated"] == 4 * 2 * 2
    [round_0, round_1] = summary["calibration_per_round"]
    assert round_0["ece"] == pytest.approx((0.4 + 0.7) / 2)  # a: 0.6 and right, b: 0.7 and wrong
    assert round_1["ece"] == pytest.approx((0.1 + 0.8) / 2)
    assert summary["mean_per_round"] == pytest.approx([0.65, 0.85])
    assert summary["escalation"] == pytest.approx((0.3 + 0.1) / 2)
    assert (summary["escalated"], summary["compared"]) == (8, 8)
    assert (summary["mutual_overconfidence"], summary["contested_rounds"]) == (1.0, 8)
    assert private_confidence(load_results(path / "results.jsonl")).model_dump() == summary


def test_the_report_shows_private_confidence_per_round(run, tmp_path):
    path, _ = run
    page = write_report([path], tmp_path / "report").read_text()

    section = page[page.index("Confidence per round (stated private confidence)") :]
    assert "16 confidences stated, never shown to peers or the judge" in section
    assert "8 of 8 debaters ended surer" in section
    assert "in 100.0% of 8 contested rounds" in section
    assert "<td>0.550</td>" in section and "<td>0.450</td>" in section  # ECE of rounds 0 and 1


@pytest.mark.parametrize(
    ("text", "kept", "confidence"),
    [
        ("#### 4\nPrivate confidence: 85%", "#### 4", 0.85),
        ("#### 4\n**Private Confidence:** 0.3\n", "#### 4", 0.3),
        ("#### 4\nPrivate confidence: 20%\nmore\nPrivate confidence: 40", "#### 4\nmore", 0.4),
        ("#### 4\nConfidence: 0.5", "#### 4\nConfidence: 0.5", None),
        ("#### 4\nPrivate confidence: 150%", "#### 4", None),  # cut, but not a probability
    ],
)
def test_private_confidence_lines_are_cut_and_read(text, kept, confidence):
    assert split_private_confidence(text) == (kept, confidence)


def test_scenarios_without_private_confidence_keep_their_fingerprints(monkeypatch):
    import debate.scenario

    hashed = []
    real_dumps = debate.scenario.json.dumps
    monkeypatch.setattr(
        debate.scenario.json,
        "dumps",
        lambda payload, **kw: hashed.append(payload) or real_dumps(payload, **kw),
    )

    plain = SCENARIO.model_copy(update={"private_confidence": False})
    assert plain.fingerprint() != SCENARIO.fingerprint()
    assert "private_confidence" not in hashed[0]  # the payload of scenarios written before the knob existed
    assert hashed[1]["private_confidence"] is True
