"""Multi-Persona (DebateLLM): an angel answers, a devil's advocate contests it, a moderator decides each round;
``Scenario.agreement_intensity`` (0-100) sets how much both sides are told to take up the other's views."""

from __future__ import annotations

import pytest
from fake_openai_server import FakeOpenAIServer

from debate import Debater, Judge, MessageKind, Scenario, ScriptedBackend, run_debate


def persona_scenario(intensity: int | None, **overrides) -> Scenario:
    fields = dict(
        name="multi-persona",
        agents=[Debater("angel"), Debater("devil")],
        judge=Judge("moderator"),
        protocol="multi_persona",
        rounds=2,
        stop="judge",
        agreement_intensity=intensity,
    )
    return Scenario(**{**fields, **overrides})


SCRIPT = {
    "angel": "Angel says 12\n#### 12",
    "devil": "Devil says 13\n#### 13",
    "moderator": ["The angel is right.\n#### 12\nDecision: CONTINUE", "Still 12.\n#### 12\nDecision: STOP"],
}


def prompts_of(backend: ScriptedBackend, agent: str) -> list[str]:
    return [c.messages[-1].content for c in backend.calls if c.agent == agent]


def test_angel_then_devil_then_moderator_each_round_with_the_agreement_intensity_in_both_prompts():
    backend = ScriptedBackend(SCRIPT)
    result = run_debate(persona_scenario(90), "What is 3 * 4?", backend=backend)

    assert [(c.agent, c.round) for c in backend.calls] == [
        ("angel", 0), ("devil", 0), ("moderator", 0), ("angel", 1), ("devil", 1), ("moderator", 1)
    ]  # fmt: skip
    for side in ("angel", "devil"):
        assert all(
            "incorporate the other side's opinions 90% of the time" in p for p in prompts_of(backend, side)
        )
    angel_0, angel_1 = prompts_of(backend, "angel")
    devil_0, _ = prompts_of(backend, "devil")
    assert "You are the angel" in angel_0 and "Angel says" not in angel_0  # the angel opens
    assert "You are the devil's advocate" in devil_0 and "Angel says 12" in devil_0  # the devil reads it
    assert "Devil says 13" in angel_1  # and the angel answers it next round
    assert all("Angel says" in p and "Devil says" in p for p in prompts_of(backend, "moderator"))
    assert "incorporate" not in prompts_of(backend, "moderator")[0]  # the moderator is not told to agree
    assert [m.kind for m in result.transcript.messages].count(MessageKind.VERDICT) == 2
    assert (result.final_answer, result.stop_reason) == ("12", "max_rounds")


@pytest.mark.parametrize(
    ("intensity", "sentence"),
    [
        (0, "You discard the other side's opinions 100% of the time."),
        (20, "You discard the other side's opinions 80% of the time."),
        (50, "You agree or disagree with the other side depending on its answers."),
        (100, "You incorporate the other side's opinions 100% of the time."),
    ],
)
def test_intensity_maps_to_debatellm_wording(intensity, sentence):
    backend = ScriptedBackend(SCRIPT)
    run_debate(persona_scenario(intensity, rounds=1, stop="fixed", aggregate="judge"), "q?", backend=backend)
    assert sentence in prompts_of(backend, "devil")[0]


def test_without_an_intensity_the_prompts_say_nothing_about_agreeing():
    backend = ScriptedBackend(SCRIPT)
    run_debate(persona_scenario(None), "q?", backend=backend)
    assert not any("opinions" in p or "depending on its answers" in p for p in prompts_of(backend, "angel"))


def test_agreement_intensity_is_refused_by_protocols_that_do_not_read_it_and_out_of_range():
    with pytest.raises(
        ValueError,
        match=r"agreement_intensity: protocol 'rcr' does not read it; protocols that do: \[.*'multi_persona'",
    ):
        Scenario(name="x", agents=[Debater("a")], protocol="rcr", agreement_intensity=50)
    with pytest.raises(ValueError, match="agreement_intensity"):
        persona_scenario(101)
    assert persona_scenario(None).fingerprint() != persona_scenario(90).fingerprint()


def test_multi_persona_end_to_end_against_an_openai_compatible_server():
    def reply(messages):
        prompt = messages[-1]["content"]
        if "You are the angel" in prompt:
            return "Angel says 12\n#### 12"
        if "devil's advocate" in prompt:
            return "Devil says 13\n#### 13"
        return "The angel is right.\n#### 12\nDecision: STOP"

    with FakeOpenAIServer(reply) as server:
        result = run_debate(
            persona_scenario(20), "What is 3 * 4?", backend=f"openai://{server.address}?model=fake-model"
        )
        bodies = list(server.chat_bodies)

    assert len(bodies) == 3  # angel, devil, moderator; the moderator stopped after round 0
    assert "discard the other side's opinions 80%" in bodies[1]["messages"][-1]["content"]
    assert [m.author for m in result.transcript.messages] == ["angel", "devil", "moderator"]
    assert result.final_answer == "12"
