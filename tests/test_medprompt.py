"""Medprompt: the most similar pool examples open each prompt; for multiple choice each member sees the options in
another order and its letter is mapped back to the original before the majority vote."""

from __future__ import annotations

import re

import pytest
from fake_openai_server import FakeOpenAIServer

from debate import Debater, MessageKind, Scenario, ScriptedBackend, run_debate
from debate.protocols import register_protocol
from debate.protocols.medprompt import Medprompt, MedpromptExample, TfidfIndex, option_order, split_options

POOL = [
    MedpromptExample(
        question="What colour is the sky on a clear day?", rationale="Rayleigh scattering.", answer="B"
    ),
    MedpromptExample(
        question="Which planet is largest in the solar system?", rationale="Jupiter is.", answer="C"
    ),
    MedpromptExample(
        question="Which planet is closest to the sun?", rationale="Mercury orbits closest.", answer="A"
    ),
    MedpromptExample(
        question="How many legs does a spider have?", rationale="Arachnids have eight.", answer="D"
    ),
]
register_protocol(Medprompt(POOL, shots=2, name="medprompt_test"))

QUESTION = "Which planet is farthest from the sun?\nA. Mercury\nB. Venus\nC. Earth\nD. Neptune"
OPTIONS = ["Mercury", "Venus", "Earth", "Neptune"]


def mp_scenario(agents: int = 4, **overrides) -> Scenario:
    fields = dict(
        name="mp",
        agents=[Debater(f"m{i}") for i in range(agents)],
        protocol="medprompt_test",
        rounds=1,
        stop="fixed",
        answer="choice",
    )
    return Scenario(**{**fields, **overrides})


def shown_options(prompt: str) -> list[str]:
    tail = prompt.split("Question: Which planet is farthest")[1]
    return re.findall(r"^[A-D]\. (.+)$", tail, re.MULTILINE)


def answer_neptune(prompt: str) -> str:
    letter = "ABCD"[shown_options(prompt).index("Neptune")]
    return f"Neptune is the eighth planet.\nAnswer: {letter}"


def test_most_similar_examples_open_the_prompt_best_first():
    protocol = Medprompt(POOL, shots=2)
    assert [e.answer for e in protocol.nearest(QUESTION)] == ["A", "C"]  # "closest to the sun" shares most
    index = TfidfIndex([e.question for e in POOL])
    scores = index.scores("planet sun")
    assert scores[2] > scores[1] > scores[0] == scores[3] == 0.0


def test_identical_pool_questions_are_skipped():
    protocol = Medprompt(POOL, shots=1)
    assert protocol.nearest(POOL[2].question)[0].question != POOL[2].question


def test_option_orders_are_distinct_rotations_then_reversed():
    orders = [option_order(i, 4) for i in range(8)]
    assert orders[0] == [0, 1, 2, 3] and orders[1] == [1, 2, 3, 0] and orders[4] == [3, 2, 1, 0]
    assert len({tuple(order) for order in orders}) == 8
    assert split_options(QUESTION) == ("Which planet is farthest from the sun?", OPTIONS)
    assert split_options("What is 2 + 2?") == ("What is 2 + 2?", [])


def test_each_member_sees_another_order_and_its_letter_is_mapped_back():
    backend = ScriptedBackend(lambda request: answer_neptune(request.messages[-1].content))
    result = run_debate(mp_scenario(), QUESTION, backend=backend)

    prompts = {call.agent: call.messages[-1].content for call in backend.calls}
    orders = {agent: shown_options(prompt) for agent, prompt in prompts.items()}
    assert orders["m0"] == OPTIONS and orders["m1"] == ["Venus", "Earth", "Neptune", "Mercury"]
    assert len({tuple(order) for order in orders.values()}) == 4  # every member a different order
    for prompt in prompts.values():  # the two most similar examples, best first, with their rationales
        assert prompt.index("Which planet is closest to the sun?") < prompt.index("Which planet is largest")
        assert "Mercury orbits closest.\nThe answer is A." in prompt and "spider" not in prompt
    shown = [m.text.rsplit(" ", 1)[-1] for m in result.transcript.by_round(0)]
    assert shown == ["D", "C", "B", "A"]  # each member named Neptune by a different letter
    assert [m.answer for m in result.transcript.by_round(0)] == ["D"] * 4  # all mapped back to Neptune's
    assert [m.kind for m in result.transcript.messages] == [MessageKind.ARGUMENT] * 4
    assert all(
        m.visible_to == [m.author] for m in result.transcript.messages
    )  # members never read each other
    assert result.final_answer == "D"


def test_majority_vote_over_mapped_back_answers():
    def script(request):
        if request.agent == "m0":
            return "Answer: A"  # shown order is the original: Mercury
        return answer_neptune(request.messages[-1].content)

    result = run_debate(mp_scenario(agents=3), QUESTION, backend=ScriptedBackend(script))
    assert [m.answer for m in result.transcript.by_round(0)] == ["A", "D", "D"]
    assert result.final_answer == "D"


def test_numeric_questions_are_not_shuffled_and_more_rounds_are_refused():
    backend = ScriptedBackend(lambda request: "2 + 2 = 4\n#### 4")
    result = run_debate(mp_scenario(agents=2, answer="number"), "What is 2 + 2?", backend=backend)
    assert result.final_answer == "4"
    with pytest.raises(ValueError, match=r"rounds: protocol 'medprompt_test' answers in one round"):
        mp_scenario(rounds=2)


def test_medprompt_end_to_end_against_an_openai_compatible_server():
    def reply(messages):
        return answer_neptune(messages[-1]["content"])

    with FakeOpenAIServer(reply) as server:
        result = run_debate(
            mp_scenario(agents=3), QUESTION, backend=f"openai://{server.address}?model=fake-model"
        )
        bodies = list(server.chat_bodies)

    assert len(bodies) == 3
    assert len({tuple(shown_options(body["messages"][-1]["content"])) for body in bodies}) == 3
    assert [m.answer for m in result.transcript.by_round(0)] == ["D"] * 3
    assert result.final_answer == "D"


def test_bundled_scenario_uses_the_gsm8k_train_pool():
    from debate.loading import load_scenario

    backend = ScriptedBackend(lambda request: "#### 5")
    result = run_debate(
        load_scenario("medprompt"), "Tim buys 3 dozen eggs at $.50 each. How much?", backend=backend
    )
    prompt = backend.calls[0].messages[-1].content
    assert prompt.startswith("Example 1\nQuestion: Tim buys 3 dozen eggs.") and prompt.count("Example ") == 5
    assert result.final_answer == "5"


def test_options_from_item_metadata_as_quality_items_carry_them():
    backend = ScriptedBackend(lambda request: answer_neptune(request.messages[-1].content))
    result = run_debate(
        mp_scenario(agents=2),
        "Which planet is farthest from the sun?",
        backend=backend,
        metadata={"options": OPTIONS, "question_text": "Which planet is farthest from the sun?"},
    )
    assert [shown_options(call.messages[-1].content)[0] for call in backend.calls] == ["Mercury", "Venus"]
    assert result.final_answer == "D"
