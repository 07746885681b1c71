"""ChatEval: role-played referees discuss, one by one (each hears this round's earlier speakers) or all at
once (each hears the earlier rounds only), then a judge gives the verdict."""

from __future__ import annotations

import networkx as nx
from fake_openai_server import FakeOpenAIServer

from debate import Debater, Judge, MessageKind, Scenario, ScriptedBackend, run_debate
from debate.loading import load_scenario

SCRIPT = {
    "critic": "Critic: 10\n#### 10",
    "scientist": "Scientist: 12\n#### 12",
    "general_public": "Public: 12\n#### 12",
    "judge": "Most referees say 12.\n#### 12",
}


def prompt_of(backend: ScriptedBackend, agent: str, round_: int) -> str:
    return next(c for c in backend.calls if c.agent == agent and c.round == round_).messages[-1].content


def test_one_by_one_each_referee_hears_the_earlier_speakers_then_the_judge_rules():
    backend = ScriptedBackend(SCRIPT)
    result = run_debate(load_scenario("chateval"), "What is 3 * 4?", backend=backend)

    order = ["critic", "scientist", "general_public"]
    assert [(c.agent, c.round) for c in backend.calls] == [
        *((name, 0) for name in order), *((name, 1) for name in order), ("judge", 1)
    ]  # fmt: skip
    critic_0, scientist_0, public_0 = (prompt_of(backend, name, 0) for name in order)
    assert "(nothing yet)" in critic_0
    assert "Critic: 10" in scientist_0 and "Public: 12" not in scientist_0
    assert "Critic: 10" in public_0 and "Scientist: 12" in public_0
    assert "You are a critic who looks for the weakest step" in critic_0  # each referee its own persona
    assert "You are a scientist who sets up the problem" in scientist_0
    critic_1 = prompt_of(backend, "critic", 1)
    assert all(text in critic_1 for text in ("Critic: 10", "Scientist: 12", "Public: 12"))
    verdict = result.transcript.verdicts()[0]
    assert (verdict.author, verdict.round, len(verdict.responds_to)) == (
        "judge",
        1,
        3,
    )  # the last round's turns
    assert [m.kind for m in result.transcript.by_round(1)][:3] == [MessageKind.REFINEMENT] * 3
    assert result.final_answer == "12"


def test_simultaneous_referees_hear_earlier_rounds_only_and_without_a_judge_the_majority_answers():
    scenario = Scenario(
        name="chateval-simultaneous",
        agents=[Debater(name) for name in ("critic", "scientist", "general_public")],
        protocol="chateval_simultaneous",
        rounds=2,
        stop="fixed",
        agreement_intensity=30,
    )
    backend = ScriptedBackend(SCRIPT)
    result = run_debate(scenario, "What is 3 * 4?", backend=backend)

    for name in ("critic", "scientist", "general_public"):
        first, second = prompt_of(backend, name, 0), prompt_of(backend, name, 1)
        assert "(nothing yet)" in first
        assert all(text in second for text in ("Critic: 10", "Scientist: 12", "Public: 12"))
        assert "You discard the other referees' opinions 70% of the time." in second
        assert "a careful referee" in first  # the default persona
    assert len(backend.calls) == 6 and result.final_answer == "12"


def test_the_topology_limits_whom_a_referee_hears():
    one_way = nx.DiGraph(
        [("critic", "scientist"), ("scientist", "general_public"), ("general_public", "critic")]
    )
    scenario = Scenario(
        name="chateval-one-way",
        agents=[Debater(name) for name in ("critic", "scientist", "general_public")],
        protocol="chateval",
        topology=one_way,
        rounds=1,
        stop="fixed",
    )
    backend = ScriptedBackend(SCRIPT)
    run_debate(scenario, "q?", backend=backend)
    public = prompt_of(backend, "general_public", 0)
    assert "Scientist: 12" in public and "Critic: 10" not in public  # it hears the scientist only
    assert "(nothing yet)" in prompt_of(backend, "critic", 0)  # the one it hears speaks after it


def test_chateval_end_to_end_against_an_openai_compatible_server():
    def reply(messages):
        system = messages[0]["content"]
        if system.startswith("You are the judge"):
            return "Most say 12.\n#### 12"
        return "Critic: 10\n#### 10" if "You are critic" in system else "Others: 12\n#### 12"

    scenario = Scenario(
        name="chateval-http",
        agents=[Debater("critic"), Debater("scientist")],
        judge=Judge("judge"),
        protocol="chateval",
        rounds=1,
        stop="fixed",
        aggregate="judge",
    )
    with FakeOpenAIServer(reply) as server:
        result = run_debate(scenario, "What is 3 * 4?", backend=f"openai://{server.address}?model=fake-model")
        bodies = list(server.chat_bodies)

    assert len(bodies) == 3
    assert "Critic: 10" in bodies[1]["messages"][-1]["content"]  # the scientist heard the critic
    assert (
        "Critic: 10" in bodies[2]["messages"][-1]["content"]
        and "Others: 12" in bodies[2]["messages"][-1]["content"]
    )
    assert [m.author for m in result.transcript.messages] == ["critic", "scientist", "judge"]
    assert result.final_answer == "12"
