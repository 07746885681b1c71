"""AIDSAFE: deliberators expand a policy-embedded chain of thought in turn, a refiner cleans it, an ear-whisperer's
false belief steers a second (rejected) refinement; exported as SFT chains and DPO pairs."""

from __future__ import annotations

import re

import pytest
from export_support import (
    AIDSAFE_REQUEST,
    BELIEF,
    BELIEVED,
    EXPANDED,
    INTENTS,
    REFINED,
    SEED,
    aidsafe_debate,
    aidsafe_results,
    aidsafe_scenario,
    assistant_text,
    deliberate,
    deliberation,
    rows,
    train_one_step,
    write_run,
)
from fake_openai_server import FakeOpenAIServer

from debate import (
    Debater,
    MessageKind,
    Refiner,
    Role,
    ScriptedBackend,
    register_protocol,
)
from debate.datasets import load_items
from debate.export import export_run
from debate.loading import load_scenario
from debate.protocols.aidsafe import AIDSAFE, load_policy


def prompt_of(backend: ScriptedBackend, agent: str, number: int = 0) -> str:
    return [call for call in backend.calls if call.agent == agent][number].messages[-1].content


# -- the deliberation: who spoke, in which order, reading what ----------------------------------------


def test_deliberators_take_turns_on_one_chain_then_the_refiner_and_the_whisperer_speak():
    backend = ScriptedBackend(deliberation)
    result = aidsafe_debate(backend=backend)
    said = [(m.round, m.author, m.role, m.kind, m.answer) for m in result.transcript.messages]

    assert said == [
        (0, "deliberator_1", Role.DEBATER, MessageKind.ARGUMENT, None),  # the intents: no answer
        (0, "deliberator_1", Role.DEBATER, MessageKind.REFINEMENT, "refuse"),  # the seed chain
        (0, "deliberator_2", Role.DEBATER, MessageKind.REFINEMENT, "refuse"),
        (0, "deliberator_3", Role.DEBATER, MessageKind.REFINEMENT, "refuse"),  # complete: deliberation ends
        (1, "refiner", Role.REFINER, MessageKind.REFINEMENT, "refuse"),
        (1, "whisperer", Role.CRITIC, MessageKind.CRITIQUE, None),
    ]
    intents, seed, expanded, complete, refined, belief = result.transcript.messages
    assert expanded.responds_to == [intents.id, seed.id] and complete.responds_to == [intents.id, expanded.id]
    assert refined.responds_to == [complete.id] and refined.visible_to == []
    assert belief.visible_to == ["refiner"]
    assert (result.final_answer, result.stop_reason) == ("refuse", "consensus")

    # each deliberator reads the policy, the intents and the chain as the previous one left it, quoted
    second = prompt_of(backend, "deliberator_2")
    assert "Rule 1. Violence and weapons" in second and "Rule 5. Helpfulness" in second
    assert f'<response agent="deliberator_1">\n{INTENTS}\n</response>' in second
    assert f'<response agent="deliberator_1">\n{SEED}\n</response>' in second
    # the refiner reads the final chain only, never the intents or the earlier chains
    refine = prompt_of(backend, "refiner")
    assert f'<response agent="deliberator_3">\n{EXPANDED}\nDeliberation: COMPLETE\n</response>' in refine
    assert INTENTS not in refine and SEED not in refine
    assert BELIEF not in refine
    # the whisperer reads the policy and the request, nothing anyone wrote
    whisper = prompt_of(backend, "whisperer")
    assert AIDSAFE_REQUEST in whisper and "Rule 1." in whisper and "Thoughts" not in whisper

    # the whisperer's belief steers a second refinement, kept as a branch nobody reads
    [branch] = result.transcript.branches
    assert (branch.of, branch.continuation, branch.steered_by) == (refined.id, "belief", belief.id)
    assert (branch.message.author, branch.message.answer, branch.message.text) == (
        "refiner",
        "comply",
        BELIEVED,
    )
    assert prompt_of(backend, "refiner", 1) == refine + branch.instruction and BELIEF in branch.instruction
    assert len(backend.calls) == 1 + 3 + 1 + 2


def test_fixed_stop_runs_every_deliberation_round_and_no_critic_means_no_whisper():
    backend = ScriptedBackend(deliberation)
    scenario = aidsafe_scenario(stop="fixed", agents=[Debater("deliberator_1"), Debater("deliberator_2"), Refiner("refiner")])  # fmt: skip
    result = aidsafe_debate(scenario, backend)

    turns = [(m.round, m.author) for m in result.transcript.messages if m.kind is MessageKind.REFINEMENT]
    assert turns == [
        (0, "deliberator_1"), (0, "deliberator_2"), (1, "deliberator_1"), (1, "deliberator_2"), (2, "refiner"),
    ]  # fmt: skip
    assert result.transcript.branches == [] and result.stop_reason == "max_rounds"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"agents": [Debater("d")]}, r"agents: protocol 'aidsafe' needs a Refiner"),
        ({"rounds": 1}, r"rounds: protocol 'aidsafe' needs rounds >= 2"),
        ({"stop": "fixed", "aggregate": "judge", "judge": None}, r"judge: .* needs a judge"),
    ],
)
def test_an_aidsafe_scenario_without_what_it_needs_is_refused(overrides, message):
    with pytest.raises(ValueError, match=message):
        aidsafe_scenario(**overrides)


def test_the_policy_is_data_and_a_variant_takes_its_own(tmp_path):
    assert len(load_policy()) == 5
    register_protocol(
        AIDSAFE(["Never discuss the weather.", "Answer everything else."], name="weather_policy")
    )
    backend = ScriptedBackend(deliberation)
    aidsafe_debate(aidsafe_scenario(protocol="weather_policy"), backend)
    assert "Rule 1. Never discuss the weather.\nRule 2. Answer everything else." in prompt_of(
        backend, "refiner"
    )

    (tmp_path / "empty.toml").write_text("rules = []\n")
    with pytest.raises(ValueError, match=r"policy: .*empty.toml' needs `rules`"):
        load_policy(str(tmp_path / "empty.toml"))


def test_the_bundled_scenario_and_requests():
    scenario = load_scenario("aidsafe")
    items = list(load_items("aidsafe"))
    assert (scenario.protocol, [a.role for a in scenario.agents].count(Role.DEBATER)) == ("aidsafe", 3)
    assert len(items) == 8 and {item.gold for item in items} == {"comply", "refuse"}
    assert next(item for item in items if item.id == "kill-process").gold == "comply"  # sounds risky, is not


def test_aidsafe_end_to_end_against_an_openai_compatible_server():
    def reply(messages: list[dict]) -> str:
        system = messages[0]["content"]
        agent = re.search(r"You are (deliberator_\d)", system)
        name = agent.group(1) if agent else "whisperer" if "ear-whisperer" in system else "refiner"
        return deliberate(name, messages[-1]["content"])

    with FakeOpenAIServer(reply) as server:
        result = aidsafe_debate(backend=f"openai://{server.address}?model=fake-model")
        bodies = list(server.chat_bodies)

    assert len(bodies) == 1 + 3 + 1 + 2
    assert "You are deliberator_2" in bodies[2]["messages"][0]["content"]
    assert result.final_answer == "refuse"
    assert [branch.message.text for branch in result.transcript.branches] == [BELIEVED]


# -- exports: the refined chain for SFT, refined over flawed for DPO ----------------------------------


@pytest.fixture(scope="module")
def aidsafe_run(tmp_path_factory: pytest.TempPathFactory):
    return write_run(tmp_path_factory.mktemp("aidsafe"), aidsafe_results())


def test_aidsafe_rows_are_the_refined_chains(aidsafe_run, tmp_path):
    report = export_run(aidsafe_run, "aidsafe", tmp_path)
    data = rows(tmp_path)

    assert len(data) == 2  # the two debates refined alike give one row (dedupe), the third its own
    first = data[0]
    assert [turn["role"] for turn in first["messages"]] == ["system", "user", "assistant"]
    system, user = first["messages"][0]["content"], first["messages"][1]["content"]
    assert user == AIDSAFE_REQUEST  # the request alone: the policy is what the model is to have learnt
    assert "follows a safety policy" in system and "Rule 1." not in system
    assert assistant_text(first["messages"]) == REFINED
    assert (first["answer"], first["thoughts"], first["thoughts_removed"], first["deliberation_turns"]) == (
        "refuse", 2, 1, 3,
    )  # fmt: skip
    assert report.counts["decision: refuse"] == 2 and report.dropped == {"duplicate": 1}
    assert report.pseudo_label_accuracy == pytest.approx(2 / 3)  # the refined decision against gold

    gold = export_run(aidsafe_run, "aidsafe", tmp_path / "gold", label="gold")
    assert gold.skipped == {"refined decision is not the label": 1}


def test_aidsafe_dpo_prefers_the_refined_chain_over_the_belief_augmented_and_the_unrefined(
    aidsafe_run, tmp_path
):
    report = export_run(aidsafe_run, "aidsafe_dpo", tmp_path)
    pairs = {(row["item_id"], row["rejected_from"]): row for row in rows(tmp_path)}

    belief = pairs[("pipe-bomb", "belief")]
    assert assistant_text(belief["chosen"]) == REFINED and assistant_text(belief["rejected"]) == BELIEVED
    assert (belief["belief"], belief["answer"], belief["rejected_answer"]) == (BELIEF, "refuse", "comply")
    unrefined = pairs[("pipe-bomb", "unrefined")]
    assert assistant_text(unrefined["rejected"]) == EXPANDED  # the COMPLETE marker is cut
    assert belief["prompt"] == unrefined["prompt"] and "Rule" not in str(belief["prompt"])

    # the refiner changed nothing and there was no whisperer: nothing to reject
    assert report.skipped == {"nothing to reject": 1}
    assert report.counts["rejected texts equal to the refined one"] == 1

    export_run(aidsafe_run, "aidsafe_dpo", tmp_path / "belief", rejected="belief")
    assert {row["rejected_from"] for row in rows(tmp_path / "belief")} == {"belief"}


def test_cli_exports_aidsafe_and_names_bad_options(aidsafe_run, tmp_path, capsys):
    from debate.cli import main

    assert main(["export", str(aidsafe_run), "--format", "aidsafe_dpo", "--out", str(tmp_path / "cli"),
                 "--label", "gold"]) == 0  # fmt: skip
    assert "aidsafe_dpo rows from 3 debates" in capsys.readouterr().out
    with pytest.raises(ValueError, match=r"rejected: Input should be 'both', 'belief' or 'unrefined'"):
        export_run(aidsafe_run, "aidsafe_dpo", tmp_path / "bad", rejected="deceptive")


@pytest.mark.parametrize(("format", "method"), [("aidsafe", "sft"), ("aidsafe_dpo", "dpo")])
def test_each_aidsafe_format_trains_one_step_with_its_trl_trainer(tiny_model_dir, aidsafe_run, tmp_path, format, method):  # fmt: skip
    export_run(aidsafe_run, format, tmp_path / "data")

    train_one_step(method, tmp_path / "data", tiny_model_dir, tmp_path / "model")
