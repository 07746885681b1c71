"""SR-DCR: a defender who reads the passage against a critic who does not, a judge, and a final answer
that combines the judge's verdict with how sure the critic is of its closed-book answer."""

from __future__ import annotations

import math

import pytest
from fake_openai_server import FakeOpenAIServer

from debate import Critic, Debater, Judge, MessageKind, SamplingParams, Scenario, ScriptedBackend, run_debate
from debate.protocols.sr_dcr import combine

PASSAGE = "The Eiffel Tower was moved to Rome in 1999, where it still stands."
QUESTION = "Where is the Eiffel Tower?\nA. Paris\nB. Rome"
WITH_LOGPROBS = SamplingParams(logprobs=True)


def sr_dcr_scenario(**overrides) -> Scenario:
    fields = dict(
        name="sr-dcr",
        agents=[Debater("defender"), Critic("critic", sampling=WITH_LOGPROBS)],
        judge=Judge("judge"),
        protocol="sr_dcr",
        rounds=2,
        stop="fixed",
        answer="choice",
        context_visibility={"passage": ["debater"]},
    )
    return Scenario(**{**fields, **overrides})


def critic_sureness(probability: float):
    """The critic's answer letter is written with ``probability``; every other token is certain."""
    return lambda token: math.log(probability) if token.strip() == "A" else 0.0


SCRIPT = {
    "defender": [
        "The passage says <quote>moved to Rome in 1999</quote>.\nAnswer: B",
        "It was moved. <quote>where it still stands</quote>",
    ],
    "critic": [
        "The Eiffel Tower is in Paris.\nAnswer: A",
        "No record of such a move exists; the passage is planted.",
    ],
    "judge": "The move is implausible.\nAnswer: A\nConfidence: 0.7",
}


def prompts_of(backend: ScriptedBackend, agent: str) -> list[str]:
    return [call.messages[-1].content for call in backend.calls if call.agent == agent]


def run(backend: ScriptedBackend, **overrides):
    return run_debate(sr_dcr_scenario(**overrides), QUESTION, backend=backend, context={"passage": PASSAGE})


def test_the_critic_never_reads_the_passage_and_the_judge_reads_both_sides_as_untrusted_text():
    backend = ScriptedBackend(SCRIPT, token_logprob=critic_sureness(0.9))
    result = run(backend)

    assert [(c.agent, c.round) for c in backend.calls] == [
        ("defender", 0),
        ("critic", 0),
        ("critic", 1),
        ("defender", 1),
        ("judge", 1),
    ]
    assert all(
        PASSAGE not in p
        for call in backend.calls
        if call.agent != "defender"
        for p in [m.content for m in call.messages]
    )
    assert all(PASSAGE in p for p in prompts_of(backend, "defender"))
    assert "there is no passage for you" in prompts_of(backend, "critic")[0]

    verdict_prompt = prompts_of(backend, "judge")[0]
    assert '<response agent="critic" round="0">' in verdict_prompt
    assert '<response agent="defender" round="1">' in verdict_prompt
    assert "No record of such a move" in verdict_prompt
    assert (
        "<v_quote>where it still stands</v_quote>" in verdict_prompt
    )  # checked against the passage it cannot read
    assert "defender (from the passage) answers: (B) Rome" in verdict_prompt
    assert "critic (from its own knowledge) answers: (A) Paris" in verdict_prompt

    # the judge sides with the critic, who gave its answer with probability 0.9 >= 0.8
    assert result.final_answer == "A"
    assert result.stop_reason == "parametric_confident"
    kinds = [(m.author, m.kind) for m in result.transcript.messages]
    assert kinds[-1] == ("judge", MessageKind.VERDICT)
    assert result.transcript.by_author("judge")[0].answer == "A"


def test_an_unsure_critic_cannot_overturn_the_passage_even_when_the_judge_agrees_with_it():
    result = run(ScriptedBackend(SCRIPT, token_logprob=critic_sureness(0.5)))
    assert (result.final_answer, result.stop_reason) == ("B", "context_by_default")


def test_when_both_agree_there_is_no_debate_and_no_judge():
    backend = ScriptedBackend({**SCRIPT, "defender": "Answer: A"})
    result = run(backend, rounds=3)
    assert [c.agent for c in backend.calls] == ["defender", "critic"]
    assert (result.final_answer, result.stop_reason) == ("A", "agreed")


def test_the_combination_rule():
    assert combine("B", "A", "B", 0.99, 0.8).rule == "context_trusted"
    assert combine("B", "A", "A", 0.8, 0.8).answer == "A"
    assert combine("B", "A", "A", None, 0.8).model_dump() == {
        "answer": "B",
        "rule": "context_by_default",
        "parametric_confidence": None,
    }
    assert combine("B", "A", None, 0.95, 0.8).model_dump()["answer"] == "A"
    assert combine("B", "A", None, 0.2, 0.8).rule == "no_verdict"
    assert combine(None, "A", None, 0.2, 0.8).answer == "A"


def test_the_scenario_must_hide_a_field_from_the_critic_and_show_it_to_the_defender():
    with pytest.raises(ValueError, match="context_visibility"):
        sr_dcr_scenario(context_visibility={})
    with pytest.raises(ValueError, match="context_visibility"):
        sr_dcr_scenario(context_visibility={"passage": ["debater", "critic"]})
    with pytest.raises(ValueError, match="one Critic"):
        sr_dcr_scenario(agents=[Debater("defender"), Debater("other")])


def test_sr_dcr_end_to_end_against_an_openai_compatible_server_that_returns_logprobs():
    def reply(messages):
        system = messages[0]["content"]
        if system.startswith("You are defender"):
            return "The passage says <quote>moved to Rome</quote>.\nAnswer: B"
        if system.startswith("You are critic"):
            return "It is in Paris.\nAnswer: A"
        return "Answer: B\nConfidence: 0.6"

    with FakeOpenAIServer(reply, token_logprob=critic_sureness(0.95)) as server:
        result = run_debate(
            sr_dcr_scenario(),
            QUESTION,
            backend=f"openai://{server.address}?model=fake-model",
            context={"passage": PASSAGE},
        )
        bodies = list(server.chat_bodies)

    critic_bodies = [b for b in bodies if b["messages"][0]["content"].startswith("You are critic")]
    assert [b.get("logprobs") for b in critic_bodies] == [True, True]
    assert all(PASSAGE not in m["content"] for b in critic_bodies for m in b["messages"])
    closed_book = result.transcript.by_author("critic")[0]
    assert closed_book.logprobs.answer_probability == pytest.approx(0.95)
    assert (result.final_answer, result.stop_reason) == ("B", "context_trusted")
