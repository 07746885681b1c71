"""Answer parsing never crashes a debate: unparseable text becomes an abstention with a reason."""

import pytest

from debate import Debater, Scenario, ScriptedBackend, run_debate
from debate.answers import (
    ChoiceAnswer,
    FunctionAnswer,
    NumberAnswer,
    TextAnswer,
    normalize_number,
    parse_confidence,
)


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("So she makes 9 * 2 = 18 dollars.\n#### 18", "18"),
        ("#### $1,200.00", "1200"),
        ("The answer is \\boxed{-3.50}", "-3.5"),
        ("First 3 then 4, so the answer is: 7.", "7"),
        ("I computed 5 and then 12", "12"),
        ("#### 18\nConfidence: 0.9", "18"),  # the confidence is not the answer
        ("She ate 1/4 of the pie.\n#### 1/4", "0.25"),  # a fraction is one number, not its denominator
        ("so the answer is 7/2.", "3.5"),
        ("#### 0.25", "0.25"),
    ],
)
def test_numbers_are_found_and_normalised(text, answer):
    assert NumberAnswer()(text).answer == answer


def test_unparseable_number_is_an_abstention_with_a_reason():
    parsed = NumberAnswer()("I really can't tell.")
    assert parsed.answer is None
    assert parsed.reason == "no number found in the response"


@pytest.mark.parametrize(
    ("text", "answer"),
    [("Answer: b", "B"), ("I pick (C) because...", "C"), ("\\boxed{D}", "D"), ("so A.", "A")],
)
def test_choice_letters(text, answer):
    assert ChoiceAnswer()(text).answer == answer


def test_text_answers_are_normalised_so_equal_answers_compare_equal():
    parser = TextAnswer()
    assert parser("blah\nAnswer: The Eiffel Tower!").answer == parser("Answer: eiffel tower").answer == "eiffel tower"


def test_a_user_function_that_raises_is_recorded_not_raised():
    parsed = FunctionAnswer(lambda text: 1 / 0)("anything")
    assert parsed.answer is None and "ZeroDivisionError" in parsed.reason


@pytest.mark.parametrize(("text", "value"), [("Confidence: 0.8", 0.8), ("confidence = 80%", 0.8), ("Confidence: 75", 0.75)])
def test_confidence(text, value):
    assert parse_confidence(text) == pytest.approx(value)


def test_normalize_number_rejects_garbage():
    assert normalize_number("1e999") is None
    assert normalize_number("12.50") == "12.5"


def test_a_debate_with_garbage_output_finishes_and_records_why():
    scenario = Scenario(name="garbage", agents=[Debater("a"), Debater("b"), Debater("c")], rounds=2, stop="fixed")
    backend = ScriptedBackend({"a": "\x00\x01 ���", "b": "#### 4", "c": ""})
    result = run_debate(scenario, "q?", backend=backend)
    assert result.final_answer == "4"  # abstentions do not vote
    a_messages = result.transcript.by_author("a")
    assert all(m.answer is None and m.parse_error for m in a_messages)
    assert result.dynamics.consensus == [None, None]  # an abstention breaks unanimity


def test_a_custom_parser_function_in_a_scenario():
    scenario = Scenario(name="custom", agents=[Debater("a")], rounds=1, answer=lambda text: text.split()[-1].upper())
    assert run_debate(scenario, "q?", backend=ScriptedBackend(default="it is yes")).final_answer == "YES"
