"""Transcripts and results save as JSONL and load back identical."""

import json

import pytest

from debate import (
    Debater,
    DebateResult,
    Message,
    Outcome,
    Scenario,
    ScriptedBackend,
    load_results,
    run_debate,
    save_results,
)
from debate.messages import SamplingParams, Usage


def test_a_message_records_its_provenance():
    message = Message(
        id="d/r1/a/refinement",
        debate_id="d",
        round=1,
        author="a",
        role="debater",
        kind="refinement",
        text="I now think 18.\n#### 18\nConfidence: 0.9",
        answer="18",
        confidence=0.9,
        visible_to=["a", "b"],
        responds_to=["d/r0/a/argument", "d/r0/b/argument"],
        model="qwen",
        sampling=SamplingParams(temperature=0.2, top_p=0.9, max_tokens=64, seed=7, stop=("\n\n",)),
        usage=Usage(prompt_tokens=120, completion_tokens=12),
        latency_s=0.25,
    )
    assert Message.model_validate_json(message.model_dump_json()) == message
    assert message.usage.total_tokens == 132


def test_results_round_trip_through_jsonl_losslessly(tmp_path):
    scenario = Scenario(name="rt", agents=[Debater("a"), Debater("b")], protocol="rcr", rounds=3, stop="fixed")
    backend = ScriptedBackend({"a": ["#### 1\nConfidence: 70%", "#### 2"], "b": ["unsure", "#### 2"]})
    results = [run_debate(scenario, f"question {i}?", backend=backend, gold="2") for i in range(3)]
    path = tmp_path / "results.jsonl"
    save_results(path, results)
    loaded = list(load_results(path))
    assert loaded == results
    assert path.read_text().count("\n") == 3  # one debate per line
    assert loaded[0].transcript.messages[0].confidence == 0.7
    assert loaded[0].transcript.messages[1].parse_error == "no number found in the response"


def test_a_torn_line_is_reported_with_its_location(tmp_path):
    path = tmp_path / "results.jsonl"
    scenario = Scenario(name="torn", agents=[Debater("a")], rounds=1)
    result = run_debate(scenario, "q?", backend=ScriptedBackend(default="#### 3"))
    path.write_text(result.to_json_line() + result.to_json_line()[:40])
    loaded = load_results(path)
    assert next(loaded) == result
    try:
        next(loaded)
    except ValueError as error:
        assert "results.jsonl:2" in str(error)
    else:  # pragma: no cover
        raise AssertionError("a torn line must not load silently")


def test_result_knows_correctness_only_with_gold():
    scenario = Scenario(name="g", agents=[Debater("a")], rounds=1)
    result = run_debate(scenario, "q?", backend=ScriptedBackend(default="#### 3"))
    assert result.correct is None
    assert DebateResult.model_validate(result.model_dump() | {"gold": "3"}).correct is True


def test_a_result_says_how_the_debate_ended():
    scenario = Scenario(name="o", agents=[Debater("a"), Debater("b")], rounds=1)
    answered = run_debate(scenario, "q?", backend=ScriptedBackend(default="#### 3"), gold="3")
    assert (answered.outcome, answered.reason, answered.correct) == (Outcome.ANSWERED, None, True)
    mute = run_debate(scenario, "q?", backend=ScriptedBackend(default="no idea"), gold="3")
    assert (mute.outcome, mute.correct, mute.failed) == (Outcome.NO_ANSWER, False, False)
    assert mute.reason == (
        "no valid final answer (a: no number found in the response; b: no number found in the response)"
    )
    with pytest.raises(ValueError, match="outcome: 'answered' with final_answer None"):
        DebateResult.model_validate(mute.model_dump() | {"outcome": "answered"})
    with pytest.raises(ValueError, match="reason: a debate with outcome 'failed' needs its reason"):
        DebateResult.model_validate(mute.model_dump() | {"outcome": "failed", "reason": None})


def test_results_written_before_outcomes_existed_still_load(tmp_path):
    """Older lines have ``error`` (set for failures and, wrongly, for unanswered debates) and no ``outcome``."""
    scenario = Scenario(name="old", agents=[Debater("a")], rounds=1)
    answered = run_debate(scenario, "q?", backend=ScriptedBackend(default="#### 3"))
    mute = run_debate(scenario, "q?", backend=ScriptedBackend(default="no idea"))

    def old_line(result, **fields):
        row = result.model_dump(mode="json", exclude={"outcome", "reason"})
        return json.dumps(row | {"error": None} | fields) + "\n"

    path = tmp_path / "results.jsonl"
    path.write_text(
        old_line(answered)
        + old_line(mute, error="no parseable final answer (a: no number found)", stop_reason="failed")
        + old_line(mute, error="BackendError: server down", stop_reason="failed")
        + old_line(mute)  # run_debate's own result: no answer and no error
    )
    loaded = [(r.outcome, r.reason) for r in load_results(path)]
    assert loaded == [
        (Outcome.ANSWERED, None),
        (Outcome.NO_ANSWER, "no parseable final answer (a: no number found)"),
        (Outcome.FAILED, "BackendError: server down"),
        (Outcome.NO_ANSWER, "no valid final answer (a: no number found in the response)"),
    ]
