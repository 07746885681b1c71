"""Uncertainty-aware debate (DebUnc): each later-round prompt shows every peer's response with its author's
confidence on a 1-10 scale, from the best measure the message has (answer probability, sample agreement,
mean token probability, stated confidence). A private confidence is never shown.
"""

from __future__ import annotations

import math

from fake_openai_server import FakeOpenAIServer

from debate import Debater, MessageKind, SamplingParams, Scenario, ScriptedBackend, run_debate
from debate.protocols.debunc import confidence_level, peer_confidence

WITH_LOGPROBS = SamplingParams(logprobs=True)


def answer_tokens_sureness(token: str) -> float:
    """The token '18' is written with probability 0.9, '17' with 0.2, anything else with 0.5."""
    return math.log({"18": 0.9, "17": 0.2}.get(token.strip(), 0.5))


def later_prompt(backend: ScriptedBackend, agent: str) -> str:
    return next(c for c in backend.calls if c.round == 1 and c.agent == agent).messages[-1].content


def test_peers_read_each_other_with_the_probability_each_model_gave_its_answer():
    scenario = Scenario(
        name="debunc",
        agents=[Debater("a", sampling=WITH_LOGPROBS), Debater("b", sampling=WITH_LOGPROBS)],
        protocol="debunc",
        rounds=2,
        stop="fixed",
    )
    backend = ScriptedBackend(
        {"a": "Twice nine is 18\n#### 18", "b": "I think 17\n#### 17"}, token_logprob=answer_tokens_sureness
    )
    result = run_debate(scenario, "What is 2 * 9?", backend=backend)

    round_0 = [c.messages[-1].content for c in backend.calls if c.round == 0]
    assert all("Twice nine" not in p and "I think" not in p for p in round_0)  # round 0: alone
    assert all("Confidence: <number between 0 and 1>" in p for p in round_0)

    prompt_of_a = later_prompt(backend, "a")
    assert "Agent b, confidence 3/10 (the probability its model gave its answer):" in prompt_of_a  # 0.2 -> 3
    assert "I think 17" in prompt_of_a
    assert "your confidence: 9/10 (the probability its model gave its answer)" in prompt_of_a  # own: 0.9 -> 9
    assert "Agent a, confidence 9/10" in later_prompt(backend, "b")
    assert [m.kind for m in result.transcript.by_round(1)] == [MessageKind.REFINEMENT] * 2
    assert result.transcript.by_author("a")[0].visible_to == ["a", "b"]


def test_without_logprobs_the_share_of_agreeing_samples_is_shown_and_then_the_stated_confidence():
    answers = iter(["#### 5", "#### 5", "#### 4", "#### 5"] * 10)
    scenario = Scenario(
        name="debunc-samples",
        agents=[Debater("a", sampling=SamplingParams(n=4)), Debater("b")],
        protocol="debunc",
        rounds=2,
        stop="fixed",
        private_confidence=True,
    )

    def script(request):
        if request.agent == "a":
            return next(answers)
        return "It is 6.\n#### 6\nConfidence: 0.4\nPrivate confidence: 95%"

    backend = ScriptedBackend(script)
    run_debate(scenario, "What is 2 + 3?", backend=backend)

    prompt_of_b = later_prompt(backend, "b")
    assert (
        "Agent a, confidence 8/10 (the share of its sampled answers that agree with it):" in prompt_of_b
    )  # 3/4
    assert "#### 4" not in prompt_of_b  # peers read the first sample only
    prompt_of_a = later_prompt(backend, "a")
    assert "Agent b, confidence 5/10 (as it stated):" in prompt_of_a  # 0.4 -> 5
    assert "95" not in prompt_of_a and "Private confidence: 95%" not in prompt_of_a  # never shown to peers


def test_a_peer_without_any_measure_reads_as_unknown_and_levels_span_one_to_ten():
    scenario = Scenario(name="debunc-none", agents=[Debater("a"), Debater("b")], protocol="debunc", rounds=2)
    backend = ScriptedBackend({"a": "#### 1", "b": "#### 2"})
    run_debate(scenario, "q?", backend=backend)
    assert "Agent b, confidence unknown:" in later_prompt(backend, "a")
    assert [confidence_level(p) for p in (0.0, 0.5, 1.0, 1.7)] == [1, 5, 10, 10]


def test_debunc_end_to_end_against_an_openai_compatible_server_that_returns_logprobs():
    def reply(messages):
        return "Twice nine is 18\n#### 18" if "I am a." in messages[0]["content"] else "I think 17\n#### 17"

    def agent(name):
        return Debater(
            name, sampling=WITH_LOGPROBS, prompts={"debater.system": f"I am {name}. {{answer_instruction}}"}
        )

    scenario = Scenario(
        name="debunc-http", agents=[agent("a"), agent("b")], protocol="debunc", rounds=2, stop="fixed"
    )
    with FakeOpenAIServer(reply, token_logprob=answer_tokens_sureness) as server:
        result = run_debate(scenario, "What is 2 * 9?", backend=f"openai://{server.address}?model=fake-model")
        bodies = list(server.chat_bodies)

    assert all(body["logprobs"] is True for body in bodies)
    b_round_1 = next(
        body["messages"][-1]["content"]
        for body in bodies
        if body["messages"][0]["content"].startswith("I am b.")
        and "Agent a, confidence" in body["messages"][-1]["content"]
    )
    assert "Agent a, confidence 9/10 (the probability its model gave its answer):" in b_round_1
    a_round_1 = result.transcript.by_round(1)[0]
    assert peer_confidence(a_round_1) == ("answer_probability", math.exp(a_round_1.logprobs.answer_logprob))
    assert result.final_answer in {"18", "17"}
