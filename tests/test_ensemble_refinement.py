"""Ensemble Refinement: round 0 samples several reasoning paths per agent (``n > 1``); round 1 each agent
refines reading every path of every agent it sees, unattributed; the answer is the plurality of refinements."""

from __future__ import annotations

import itertools

import pytest
from fake_openai_server import FakeOpenAIServer

from debate import Debater, MessageKind, SamplingParams, Scenario, ScriptedBackend, run_debate

SAMPLED = SamplingParams(temperature=1.0, n=3)


def er_scenario(**overrides) -> Scenario:
    fields = dict(
        name="er",
        agents=[Debater("a", sampling=SAMPLED), Debater("b", sampling=SAMPLED)],
        protocol="ensemble_refinement",
        rounds=2,
        stop="fixed",
    )
    return Scenario(**{**fields, **overrides})


def test_each_agent_refines_reading_every_sampled_path_of_every_agent():
    counter = itertools.count()

    def script(request):
        if request.round == 0:
            return f"path {next(counter)} of {request.agent}\n#### {7 if request.agent == 'a' else 8}"
        return "Most paths say 7.\n#### 7"

    backend = ScriptedBackend(script)
    result = run_debate(er_scenario(), "What is 3 + 4?", backend=backend)

    round_0 = result.transcript.by_round(0)
    assert [len(m.samples) for m in round_0] == [3, 3]  # n = 3 paths each, all kept
    refine_prompt = next(c for c in backend.calls if c.round == 1 and c.agent == "b").messages[-1].content
    assert "Here are 6 reasonings" in refine_prompt
    for message in round_0:
        for sample in message.samples:
            assert sample.text in refine_prompt  # every path, not only the first
    assert 'agent="a"' not in refine_prompt and '<response reasoning="6">' in refine_prompt  # unattributed
    assert [m.kind for m in result.transcript.by_round(1)] == [MessageKind.REFINEMENT] * 2
    assert result.final_answer == "7"


def test_one_round_is_refused():
    with pytest.raises(ValueError, match=r"rounds: protocol 'ensemble_refinement' needs rounds >= 2"):
        er_scenario(rounds=1)


def test_ensemble_refinement_end_to_end_against_an_openai_compatible_server_with_n_samples():
    def reply(messages):
        if "reasonings for this question" in messages[-1]["content"]:
            return "Refined: 7\n#### 7"
        return ["First path: 7\n#### 7", "Second path: 6\n#### 6", "Third path: 7\n#### 7"]

    with FakeOpenAIServer(reply) as server:
        result = run_debate(
            er_scenario(), "What is 3 + 4?", backend=f"openai://{server.address}?model=fake-model"
        )
        bodies = list(server.chat_bodies)

    assert [body.get("n") for body in bodies] == [3, 3, 3, 3]
    refine = bodies[-1]["messages"][-1]["content"]
    assert refine.count("Second path: 6") == 2  # both agents' second samples reach the refinement
    assert [m.sample_agreement for m in result.transcript.by_round(0)] == pytest.approx([2 / 3, 2 / 3])
    assert result.final_answer == "7"
