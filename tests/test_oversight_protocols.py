"""The oversight protocols: debate, consultancy and the judge alone (direct / expert), on scripted backends."""

import re

import pytest
from oversight_support import (
    SENTINEL,
    consultancy_scenario,
    debate_scenario,
    oversight_script,
    quality_item,
    run_item,
    state_of,
)

from debate import ChatRequest, Debater, MessageKind, Outcome, ScriptedBackend
from debate.answers import ChoiceAnswer, NumberAnswer
from debate.loading import load_scenario
from debate.protocols.oversight import consultant_answer, disputed_answers, parse_verdict


def prompts_of(backend: ScriptedBackend, agent: str) -> list[str]:
    return [call.messages[-1].content for call in backend.calls if call.agent == agent]


# -- debate -------------------------------------------------------------------------------


def test_debaters_defend_the_gold_answer_and_a_distractor_then_the_judge_decides():
    item = quality_item(5)
    backend = ScriptedBackend(oversight_script)
    result = run_item(debate_scenario(rounds=3), item, backend)

    arguments = [m for m in result.transcript.messages if m.kind is MessageKind.ARGUMENT]
    assert [(m.round, m.author) for m in arguments] == [
        (r, name) for r in range(3) for name in ("debater_1", "debater_2")
    ]
    sides = {m.author: m.answer for m in arguments}
    assert (
        item.gold in sides.values() and len(set(sides.values())) == 2
    )  # opposing answers, one of them right
    assert all(m.answer == sides[m.author] for m in arguments)  # a side is assigned, not parsed

    [verdict] = [m for m in result.transcript.messages if m.kind is MessageKind.VERDICT]
    assert verdict.author == "judge" and verdict.round == 2
    assert (verdict.answer, verdict.confidence, verdict.parse_error) == (item.gold, 0.9, None)
    assert result.final_answer == item.gold and result.correct
    assert verdict.responds_to == [m.id for m in arguments]


def test_each_debater_is_told_its_own_side_and_its_opponents():
    item = quality_item(6)
    backend = ScriptedBackend(oversight_script)
    run_item(debate_scenario(), item, backend)
    first, second = disputed_answers(state_of(item), ChoiceAnswer())
    options = dict(zip("ABCD", item.metadata["options"], strict=True))
    opening = prompts_of(backend, "debater_1")[0]
    assert f"You defend: ({first}) {options[first]}" in opening
    assert f"debater_2 defends: ({second}) {options[second]}" in opening
    assert f"You defend: ({second})" in prompts_of(backend, "debater_2")[0]


def test_simultaneous_turns_hide_the_opponents_argument_of_the_same_round():
    backend = ScriptedBackend(
        lambda r: (
            f"{r.agent} speaks in round {r.round}. Answer: A"
            if r.agent != "judge"
            else "Answer: A\nConfidence: 0.5"
        )
    )
    run_item(debate_scenario("debate", rounds=2), quality_item(1), backend)
    second_opening, second_rebuttal = prompts_of(backend, "debater_2")
    assert "debater_1 speaks in round 0" not in second_opening
    assert (
        "debater_1 speaks in round 0" in second_rebuttal
        and "debater_1 speaks in round 1" not in second_rebuttal
    )


def test_sequential_turns_show_the_second_debater_the_first_ones_argument_of_the_same_round():
    backend = ScriptedBackend(
        lambda r: (
            f"{r.agent} speaks in round {r.round}." if r.agent != "judge" else "Answer: A\nConfidence: 0.5"
        )
    )
    run_item(debate_scenario("debate_sequential", rounds=2), quality_item(1), backend)
    assert [c.agent for c in backend.calls] == ["debater_1", "debater_2", "debater_1", "debater_2", "judge"]
    second_opening, second_rebuttal = prompts_of(backend, "debater_2")
    assert (
        '<response agent="debater_1" round="0">\ndebater_1 speaks in round 0.\n</response>' in second_opening
    )
    assert "debater_1 speaks in round 1." in second_rebuttal
    first_rebuttal = prompts_of(backend, "debater_1")[1]
    assert "debater_2 speaks in round 0." in first_rebuttal


def test_debaters_and_judge_see_quotes_checked_against_the_passage():
    item = quality_item(2)
    backend = ScriptedBackend(oversight_script)
    run_item(debate_scenario(), item, backend)
    judge_prompt = prompts_of(backend, "judge")[0]
    assert (
        judge_prompt.count("<v_quote>") == 2 and judge_prompt.count("<u_quote>") == 2
    )  # honest twice, liar twice
    assert "<quote>" not in judge_prompt
    rebuttal = prompts_of(backend, "debater_1")[1]
    assert "<v_quote>" in rebuttal and "<u_quote>" in rebuttal


def test_self_play_scenario_runs_both_debaters_on_the_same_backend_and_model():
    scenario = load_scenario("quality_debate")
    assert len({(d.backend, d.model) for d in scenario.debaters}) == 1
    backend = ScriptedBackend(oversight_script, model="the-model")
    result = run_item(scenario, quality_item(4), backend)
    debaters = {m.author: m.model for m in result.transcript.messages if m.role.value == "debater"}
    assert debaters == {"debater_1": "the-model", "debater_2": "the-model"}
    assert {c.agent for c in backend.calls} == {"debater_1", "debater_2", "judge"}


# -- sides: deterministic per item --------------------------------------------------------------


def test_sides_are_deterministic_per_item_and_balanced_across_items():
    items = [quality_item(i) for i in range(200)]
    pairs = [disputed_answers(state_of(item), ChoiceAnswer()) for item in items]
    assert pairs == [disputed_answers(state_of(item), ChoiceAnswer()) for item in items]
    assert all(item.gold in pair and pair[0] != pair[1] for item, pair in zip(items, pairs, strict=True))
    first_is_correct = sum(pair[0] == item.gold for item, pair in zip(items, pairs, strict=True)) / len(items)
    assert 0.4 < first_is_correct < 0.6  # the correct answer is not always defended by the first speaker
    honest = [consultant_answer(state_of(item), ChoiceAnswer()) == item.gold for item in items]
    assert 0.4 < sum(honest) / len(items) < 0.6  # the consultant lies on about half the items
    assert honest == [consultant_answer(state_of(item), ChoiceAnswer()) == item.gold for item in items]


def test_the_same_item_gets_the_same_sides_under_every_scenario():
    item = quality_item(9)
    sides = []
    for protocol in ("debate", "debate_sequential"):
        backend = ScriptedBackend(oversight_script)
        result = run_item(debate_scenario(protocol, name=f"any-{protocol}"), item, backend)
        sides.append([m.answer for m in result.transcript.messages if m.kind is MessageKind.ARGUMENT][:2])
    assert sides[0] == sides[1]


def test_metadata_can_name_the_distractor_or_the_disputed_answers():
    item = quality_item(0)  # gold A
    assert set(disputed_answers({**state_of(item), "metadata": {"distractor": "C"}}, ChoiceAnswer())) == {
        "A",
        "C",
    }
    explicit = {**state_of(item), "gold": None, "metadata": {"disputed_answers": ["D", "B"]}}
    assert disputed_answers(explicit, ChoiceAnswer()) == ("D", "B")
    with pytest.raises(ValueError, match=r"metadata\['distractor'\]"):
        disputed_answers({**state_of(item), "metadata": {"distractor": "A"}}, ChoiceAnswer())
    with pytest.raises(ValueError, match="not one of the options"):
        disputed_answers(
            {**state_of(item), "metadata": {"options": ["x", "y"], "distractor": "D"}}, ChoiceAnswer()
        )
    with pytest.raises(ValueError, match="gold"):
        disputed_answers({**state_of(item), "gold": None}, ChoiceAnswer())


def test_options_are_parsed_from_the_question_when_metadata_lacks_them():
    item = quality_item(3)
    bare = {"question": item.question, "gold": "D", "metadata": {}}
    assert "D" in disputed_answers(bare, ChoiceAnswer())


def test_numeric_items_dispute_the_gold_answer_against_a_near_miss():
    state = {"question": "How many apples?", "gold": "72", "metadata": {}}
    pair = disputed_answers(state, NumberAnswer())
    assert "72" in pair and pair[0] != pair[1]
    wrong = next(answer for answer in pair if answer != "72")
    assert wrong in {"73", "71", "144", "36", "82", "720"}


# -- consultancy ----------------------------------------------------------------------------------


def test_the_judge_questions_the_consultant_for_n_rounds_then_decides():
    item = quality_item(7)
    backend = ScriptedBackend(oversight_script)
    result = run_item(consultancy_scenario(rounds=3), item, backend)
    assert [(m.round, m.author, m.kind.value) for m in result.transcript.messages] == [
        (0, "consultant", "argument"),
        (1, "judge", "question"),
        (1, "consultant", "argument"),
        (2, "judge", "question"),
        (2, "consultant", "argument"),
        (2, "judge", "verdict"),
    ]
    assigned = consultant_answer(state_of(item), ChoiceAnswer())
    assert {m.answer for m in result.transcript.messages if m.author == "consultant"} == {assigned}
    reply_prompt = prompts_of(backend, "consultant")[1]
    assert reply_prompt.rstrip().endswith("Stay under 150 words.")
    assert (
        '<response agent="judge" round="1">\nWhich sentence of the story gives the colour of the door?\n</response>'
        in reply_prompt
    )


def test_consultancy_with_one_round_has_no_questions():
    result = run_item(consultancy_scenario(rounds=1), quality_item(7), ScriptedBackend(oversight_script))
    assert [m.kind.value for m in result.transcript.messages] == ["argument", "verdict"]


# -- the judge alone ----------------------------------------------------------------------------


def test_direct_and_expert_judges_choose_between_the_same_two_answers_with_and_without_the_passage():
    item = quality_item(11)
    pair = disputed_answers(state_of(item), ChoiceAnswer())
    for name, sees_passage in (("quality_direct", False), ("quality_expert", True)):
        backend = ScriptedBackend(oversight_script)
        result = run_item(load_scenario(name), item, backend)
        [call] = backend.calls
        prompt = call.messages[-1].content
        assert (SENTINEL in prompt) is sees_passage
        assert re.findall(r"^\(([A-D])\)", prompt, re.MULTILINE) == list(pair)
        assert [m.kind for m in result.transcript.messages] == [MessageKind.VERDICT]
    assert result.final_answer == item.gold  # the expert reads the passage


# -- verdicts --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "answer", "confidence"),
    [
        ("Debater 2 has the verified quote.\nAnswer: B\nConfidence: 0.8", "B", 0.8),
        ("**Answer:** (B)\n**Confidence:** 80%", "B", 0.8),
        ("Answer: B. The door was green.\nConfidence: .65", "B", 0.65),
        ("Answer: The door was green.\nProbability: 0.7 (fairly sure)", "B", 0.7),
        ("Answer: A\nOn reflection...\nFinal answer: B\nConfidence: 0.6", "B", 0.6),
    ],
)
def test_verdicts_are_read_from_the_judges_last_answer_and_confidence_lines(text, answer, confidence):
    options = {"A": "The door was red.", "B": "The door was green."}
    verdict = parse_verdict(text, ChoiceAnswer(), allowed=["A", "B"], options=options)
    assert (verdict.answer, verdict.confidence, verdict.error) == (answer, confidence, None)


@pytest.mark.parametrize(
    ("text", "answer", "error"),
    [
        ("I cannot decide.", None, "no 'Answer: ...' line"),
        ("Answer: C\nConfidence: 0.9", None, "not one of the answers in dispute"),
        ("Answer: ???\nConfidence: 0.9", None, "could not read an answer"),
        ("Answer: A", "A", "no 'Confidence: <probability>' line"),
        ("Answer: A\nConfidence: very", "A", "could not read a probability"),
        ("Answer: A\nConfidence: 250%", "A", "is not a probability"),
    ],
)
def test_unreadable_verdicts_are_recorded_not_raised(text, answer, error):
    verdict = parse_verdict(text, ChoiceAnswer(), allowed=["A", "B"])
    assert verdict.answer == answer and error in verdict.error


def test_a_judge_that_answers_off_format_leaves_the_debate_unanswered_with_the_reason_recorded():
    def script(request: ChatRequest) -> str:
        return "I think the green one, probably." if request.agent == "judge" else oversight_script(request)

    result = run_item(debate_scenario(), quality_item(1), ScriptedBackend(script))
    verdict = result.transcript.messages[-1]
    assert verdict.kind is MessageKind.VERDICT and verdict.answer is None
    assert "no 'Answer: ...' line" in verdict.parse_error
    assert result.final_answer is None and result.correct is False and result.outcome is Outcome.NO_ANSWER
    assert "judge: no 'Answer: ...' line" in result.reason


# -- scenario checks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"agents": [Debater("only")]}, r"agents: protocol 'debate' needs exactly 2 debater"),
        ({"stop": "consensus"}, r"stop: protocol 'debate' runs every round"),
        ({"aggregate": "majority"}, r"aggregate: under protocol 'debate'"),
        ({"judge": None}, r"judge: protocol 'debate' needs a judge"),
        ({"protocol": "consultancy"}, r"agents: protocol 'consultancy' needs exactly 1 debater"),
        ({"protocol": "direct", "rounds": 1}, r"agents: under protocol 'direct' the judge answers alone"),
        ({"protocol": "direct", "agents": []}, r"rounds: protocol 'direct' is one judgement"),
    ],
)
def test_scenarios_that_cannot_run_fail_at_construction_naming_the_field(changes, message):
    with pytest.raises(ValueError, match=message):
        debate_scenario(**changes)
