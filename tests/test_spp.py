"""Solo Performance Prompting: one model, one call; the personas collaborate inside its single response."""

from __future__ import annotations

import pytest
from fake_openai_server import FakeOpenAIServer

from debate import Debater, MessageKind, SamplingParams, Scenario, ScriptedBackend, run_debate
from debate.loading import load_scenario

COLLABORATION = """Participants: AI Assistant (you); Math Teacher
AI Assistant (you): 6 * 7 = 48.
Math Teacher: Check it: 6 * 7 = 42.
AI Assistant (you): Right, 42.
Final answer: 42
#### 42"""


def test_one_call_with_the_persona_prompt_and_one_message_in_the_transcript():
    backend = ScriptedBackend({"assistant": COLLABORATION})
    result = run_debate(load_scenario("spp"), "What is 6 * 7?", backend=backend)

    [call] = backend.calls
    system, user = (message.content for message in call.messages)
    assert "simulating a team of experts" in system
    assert "Start collaboration!" in user and user.rstrip().endswith(load_scenario("spp").parser.instruction)
    assert "Task: What is 6 * 7?" in user
    [message] = result.transcript.messages
    assert (message.kind, message.author, message.text) == (MessageKind.ARGUMENT, "assistant", COLLABORATION)
    assert result.final_answer == "42"


def test_spp_is_one_debater_and_one_round():
    with pytest.raises(ValueError, match="agents: protocol 'spp' is one model playing every persona"):
        Scenario(name="x", agents=[Debater("a"), Debater("b")], protocol="spp", rounds=1)
    with pytest.raises(ValueError, match="rounds: protocol 'spp' is a single call; set rounds=1"):
        Scenario(name="x", agents=[Debater("a")], protocol="spp", rounds=2)


def test_spp_end_to_end_against_an_openai_compatible_server_with_logprobs():
    with_logprobs = Debater("assistant", sampling=SamplingParams(logprobs=True))
    scenario = Scenario(name="spp", agents=[with_logprobs], protocol="spp", rounds=1, answer="number")
    with FakeOpenAIServer(lambda messages: COLLABORATION) as server:
        result = run_debate(scenario, "What is 6 * 7?", backend=f"openai://{server.address}?model=fake-model")
    [message] = result.transcript.messages
    assert server.completions == 1 and message.answer == "42"
    assert message.logprobs is not None and message.logprobs.answer_probability == pytest.approx(0.9)
