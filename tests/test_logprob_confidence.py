"""Confidence from log-probs: a debater that states no private confidence is scored per round by its
model's own probability of writing its answer (``LogprobSummary.answer_probability``), in the summary
and the report; a stated private confidence is still preferred where there is one."""

from __future__ import annotations

import json
import math
import re

import pytest

from debate import Debater, SamplingParams, Scenario, ScriptedBackend
from debate.datasets import Item
from debate.logprobs import LogprobSummary
from debate.messages import Message, MessageKind, Role
from debate.metrics import ANSWER_PROBABILITY, STATED, debater_confidence, private_confidence
from debate.report import write_report
from debate.runner import RunOptions, run_dataset
from debate.transcript import load_results

WITH_LOGPROBS = SamplingParams(logprobs=True)
SCENARIO = Scenario(
    name="logprob-confidence",
    agents=[Debater("a", sampling=WITH_LOGPROBS), Debater("b", sampling=WITH_LOGPROBS)],
    protocol="simultaneous",
    rounds=2,
    stop="fixed",
)
ITEMS = [Item(id=f"q{i}", question=f"What is {i} + {i}?", gold=str(2 * i)) for i in range(4)]


def script(request):
    """a is right in both rounds; b is wrong (odd) in round 0 and right in round 1."""
    i = int(
        re.search(r"What is (\d+) \+", request.messages[0].content + request.messages[-1].content).group(1)
    )
    wrong = request.agent == "b" and request.round == 0
    answer = 2 * i + 1 if wrong else 2 * i
    return f"I get it.\n#### {answer}"


def token_logprob(token: str) -> float:
    """The answer token: 0.8 when even (right), 0.3 when odd (wrong); every other word 0.5."""
    word = token.strip()
    if word.isdigit():
        return math.log(0.8 if int(word) % 2 == 0 else 0.3)
    return math.log(0.5)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    path = tmp_path_factory.mktemp("logprob-confidence") / "run"
    backend = ScriptedBackend(script, token_logprob=token_logprob)
    run_dataset(SCENARIO, ITEMS, path, backends=backend, options=RunOptions(progress="off"))
    return path


def test_the_summary_scores_calibration_per_round_from_answer_token_probabilities(run):
    summary = json.loads((run / "summary.json").read_text())["private_confidence"]

    assert (summary["stated"], summary["from_logprobs"], summary["source"]) == (0, 16, ANSWER_PROBABILITY)
    [round_0, round_1] = summary["calibration_per_round"]
    assert round_0["n"] == round_1["n"] == 8
    assert round_0["ece"] == pytest.approx((0.2 + 0.3) / 2)  # a: 0.8 and right; b: 0.3 and wrong
    assert round_1["ece"] == pytest.approx(0.2)  # both: 0.8 and right
    assert summary["mean_per_round"] == pytest.approx([0.55, 0.8])
    assert summary["escalation"] == pytest.approx((0.0 + 0.5) / 2)
    assert (summary["escalated"], summary["compared"]) == (4, 8)
    assert (summary["mutual_overconfidence"], summary["contested_rounds"]) == (1.0, 4)
    assert private_confidence(load_results(run / "results.jsonl")).model_dump() == summary


def test_the_report_shows_ece_per_round_labelled_with_its_source(run, tmp_path):
    page = write_report([run], tmp_path / "report").read_text()

    section = page[page.index("Confidence per round (answer-token probability)") :]
    assert "16 answer-token probabilities from debater log-probs" in section
    assert "<td>0.250</td>" in section and "<td>0.200</td>" in section  # ECE of rounds 0 and 1


def test_a_stated_private_confidence_is_preferred_to_the_answer_probability():
    logprobs = LogprobSummary(tokens=2, mean_logprob=-0.5, min_logprob=-1.0, answer_logprob=math.log(0.25))
    message = Message(
        id="m",
        debate_id="d",
        author="a",
        role=Role.DEBATER,
        kind=MessageKind.ARGUMENT,
        round=0,
        text="#### 4",
        answer="4",
        logprobs=logprobs,
    )
    assert debater_confidence(message) == (pytest.approx(0.25), ANSWER_PROBABILITY)
    assert debater_confidence(message.model_copy(update={"private_confidence": 0.9})) == (0.9, STATED)
    assert debater_confidence(message.model_copy(update={"logprobs": None})) is None
