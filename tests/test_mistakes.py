"""Learning from mistakes in context: an earlier run's wrong answers and right answers, side by side,
open the next run's first-round prompts; the label (gold or the debate's consensus) is stated."""

from __future__ import annotations

import pytest
from fake_openai_server import FakeOpenAIServer

from debate import Debater, Scenario, ScriptedBackend, run_debate
from debate.mistakes import examples_block, mistake_examples, with_mistakes
from debate.transcript import load_results, save_results


def earlier_run(tmp_path):
    """Two debates: 3 * 6 (gold 18; b says 17) and 2 + 2 (no gold; everyone says 4)."""
    scenario = Scenario(name="earlier", agents=[Debater("a"), Debater("b")], rounds=1, stop="fixed")
    backend = ScriptedBackend({"a": "Three sixes make 18.\n#### 18", "b": "Roughly 17 {approx}.\n#### 17"})
    first = run_debate(scenario, "What is 3 * 6?", backend=backend, gold="18")
    second = run_debate(scenario, "What is 2 + 2?", backend=ScriptedBackend({"a": "#### 4", "b": "#### 4"}))
    path = tmp_path / "results.jsonl"
    save_results(path, [first, second])
    return path


def test_wrong_and_right_answers_of_an_earlier_run_open_the_first_round_prompt(tmp_path):
    examples = mistake_examples(load_results(earlier_run(tmp_path)), label="gold")
    assert [(e.question, e.wrong_answer, e.label) for e in examples] == [("What is 3 * 6?", "17", "18")]

    scenario = with_mistakes(Scenario(name="next", agents=[Debater("a")], rounds=1), examples)
    backend = ScriptedBackend({"a": "#### 12"})
    run_debate(scenario, "What is 3 * 4?", backend=backend)  # braces in the examples are not placeholders
    prompt = backend.calls[0].messages[-1].content

    assert "correct means it matches the reference answer" in prompt
    incorrect, correct = (
        prompt.index("Incorrect answer:\nRoughly 17 {approx}."),
        prompt.index("Correct answer:\nThree sixes"),
    )
    assert (
        incorrect < correct < prompt.index("Now the new question.") < prompt.index("Question: What is 3 * 4?")
    )


def test_consensus_labels_are_stated_and_no_right_answer_falls_back_to_the_label(tmp_path):
    path = earlier_run(tmp_path)
    # by consensus the first debate's final answer is the majority's (a tie of 18 and 17: either)
    examples = mistake_examples(load_results(path), label="consensus")
    assert len(examples) == 1 and examples[0].label in {"17", "18"}
    block = examples_block(examples, label="consensus")
    assert "the reference answer was not used" in block

    lone = examples[0].model_copy(update={"right_text": None, "label": "18"})
    assert "Correct answer:\nAnswer: 18" in examples_block([lone])
    assert examples_block([]) == ""
    with pytest.raises(ValueError, match="label"):
        mistake_examples([], label="majority")  # type: ignore[arg-type]


def test_the_scenario_file_reads_an_earlier_run_and_runs_against_an_openai_compatible_server(tmp_path):
    from debate.scenarios.gsm8k_mistakes import from_run

    scenario = from_run(earlier_run(tmp_path))
    with FakeOpenAIServer(lambda messages: "It is 12.\n#### 12") as server:
        result = run_debate(
            scenario.model_copy(update={"agents": scenario.agents[:1]}),
            "What is 3 * 4?",
            backend=f"openai://{server.address}?model=fake-model",
        )
        first_prompt = server.chat_bodies[0]["messages"][-1]["content"]
    assert "Incorrect answer:\nRoughly 17 {approx}." in first_prompt
    assert result.final_answer == "12"
