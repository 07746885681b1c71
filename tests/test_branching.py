"""PBT's dialogue trees: a debate branches at ``Scenario.branch_at`` (each debater a peer disagreed with also
answers told to accept and told to resist), and the ``pbt`` export pairs the two continuations.

The scripted debaters follow the steering sentence when told to (``follow``): accepting, they give the
persuader's answer; resisting, their own previous one.
"""

from __future__ import annotations

import re

import pytest
from export_support import THREE_DEBATERS, assistant_text, rows, train_one_step, write_run
from fake_openai_server import FakeOpenAIServer

from debate import DebateResult, ScriptedBackend, run_debate
from debate.export import export_run
from debate.messages import MessageKind

BRANCHED = THREE_DEBATERS.model_copy(update={"name": "branched", "rounds": 3, "branch_at": 1})
ACCEPT = re.compile(r"explain why (\S+) is right, and give")
RESIST = re.compile(r"explain why (\S+) is right and agent")

# debate id -> agent -> (round-0 answer, later answers). persuaded: b meets two right peers and gives in;
# gave-in (gold 12): c gives in to a wrong majority; nobody-right (gold 7): no side ever gives the label
ANSWERS = {
    "persuaded": {"a": ("5", "5"), "b": ("6", "5"), "c": ("5", "5")},
    "gave-in": {"a": ("10", "10"), "b": ("10", "10"), "c": ("12", "10")},
    "nobody-right": {"a": ("5", "5"), "b": ("6", "6"), "c": ("5", "5")},
}
GOLD = {"persuaded": "5", "gave-in": "12", "nobody-right": "7"}


def follow(prompt: str, agent: str, round_: int, debate_id: str, *, stubborn: str | None = None) -> str:
    """A debater that answers from ``ANSWERS``, and does as a branch prompt says (unless it is ``stubborn``)."""
    first, later = ANSWERS[debate_id][agent]
    for pattern, verb in ((ACCEPT, "accept"), (RESIST, "resist")):
        told = pattern.search(prompt)
        if told and agent != stubborn:
            return f"{agent} told to {verb}: {told.group(1)}\n#### {told.group(1)}"
        if told:
            return f"{agent} will not be told.\n#### {first}"
    own = first if round_ == 0 else later
    return f"{agent} in round {round_}: {own}\n#### {own}"


def scripted(**kwargs) -> ScriptedBackend:
    return ScriptedBackend(
        lambda request: follow(
            request.messages[-1].content, request.agent, request.round, request.debate_id, **kwargs
        )
    )


def branched_debate(debate_id: str, **kwargs) -> DebateResult:
    backend = kwargs.pop("backend", None) or scripted()
    return run_debate(
        kwargs.pop("scenario", BRANCHED),
        f"Question of {debate_id}",
        backend=backend,
        debate_id=debate_id,
        gold=GOLD[debate_id],
        metadata={"item_id": debate_id},
        **kwargs,
    )


@pytest.fixture(scope="module")
def branched_run(tmp_path_factory: pytest.TempPathFactory):
    return write_run(tmp_path_factory.mktemp("branched"), [branched_debate(name) for name in ANSWERS])


# -- the tree: who answered what, reading what --------------------------------------------------------


def test_a_persuaded_turn_branches_into_an_accepting_and_a_resisting_continuation():
    backend = scripted()
    result = branched_debate("persuaded", backend=backend)
    transcript = result.transcript

    # every debater met a peer with another answer in round 1, so each has both continuations
    assert [(branch.message.author, branch.continuation) for branch in transcript.branches] == [
        ("a", "accept"), ("a", "resist"), ("b", "accept"), ("b", "resist"), ("c", "accept"), ("c", "resist"),
    ]  # fmt: skip
    b_accept, b_resist = (branch for branch in transcript.branches if branch.message.author == "b")
    turn = next(m for m in transcript.messages if m.author == "b" and m.round == 1)
    assert b_accept.of == b_resist.of == turn.id
    assert b_accept.message.id == f"{turn.id}/accept" and b_resist.message.id == f"{turn.id}/resist"
    assert b_accept.steered_by == "persuaded/r0/a/argument"  # both peers said 5: the first in topology order
    assert (b_accept.message.answer, b_resist.message.answer) == ("5", "6")
    assert b_accept.message.responds_to == turn.responds_to  # the branches read what the turn read
    assert b_accept.message.visible_to == [] and b_accept.message.kind is MessageKind.REFINEMENT
    # a and c were persuaded by b, the one peer who disagreed with them
    assert {b.steered_by for b in transcript.branches if b.message.author in "ac"} == {
        "persuaded/r0/b/argument"
    }

    # the branch prompt is the turn's prompt plus the steering sentence
    def steered(call) -> bool:  # noqa: ANN001 - ChatRequest
        return bool(ACCEPT.search(call.messages[-1].content) or RESIST.search(call.messages[-1].content))

    [turn_call] = [c for c in backend.calls if (c.agent, c.round) == ("b", 1) and not steered(c)]
    accept_call = next(c for c in backend.calls if c.agent == "b" and ACCEPT.search(c.messages[-1].content))
    assert accept_call.messages[-1].content == turn_call.messages[-1].content + b_accept.instruction
    assert "accept the answer of agent a" in b_accept.instruction
    assert [sum(steered(c) for c in backend.calls if c.round == r) for r in range(3)] == [0, 6, 0]
    # nobody ever reads a branch: round 2 reads round 1's own messages only
    assert len(backend.calls) == 3 + (3 + 6) + 3
    assert not [c for c in backend.calls if c.round == 2 and "told to" in c.messages[-1].content]
    assert {m.round for m in transcript.messages} == {0, 1, 2}


def test_branching_leaves_the_debate_as_it_was_and_unbranched_results_as_they_were_written():
    branched = branched_debate("gave-in")
    plain = branched_debate("gave-in", scenario=BRANCHED.model_copy(update={"branch_at": None}))

    def said(result: DebateResult) -> list[tuple]:
        return [(m.round, m.author, m.text, m.responds_to) for m in result.transcript.messages]

    assert said(branched) == said(plain)
    # the branches cost calls and tokens, and the run's counts include them
    assert len(branched.transcript.calls) == len(plain.transcript.calls) + 6
    assert branched.transcript.usage.total_tokens > plain.transcript.usage.total_tokens > 0
    assert (branched.final_answer, branched.dynamics) == (plain.final_answer, plain.dynamics)
    assert '"branches"' not in plain.to_json_line()  # older readers and files see nothing new
    assert DebateResult.from_json_line(plain.to_json_line()).transcript.branches == []
    assert DebateResult.from_json_line(branched.to_json_line()) == branched


def test_a_turn_nobody_disagreed_with_does_not_branch():
    agree = {"a": ["#### 4"], "b": ["#### 4"], "c": ["#### 4"]}
    result = run_debate(BRANCHED, "What is 2 + 2?", backend=ScriptedBackend(agree))
    assert result.transcript.branches == []


def test_branch_at_is_checked_against_the_protocol_and_the_rounds():
    with pytest.raises(ValueError, match=r"branch_at: round 2 does not exist with rounds=2 \(valid: 1 to 1"):
        THREE_DEBATERS.model_validate({**THREE_DEBATERS.model_dump(), "branch_at": 2})
    with pytest.raises(ValueError, match=r"branch_at: protocol 'chateval' does not branch turns; protocols that do: \[.*'rcr'"):  # fmt: skip
        THREE_DEBATERS.model_validate({**THREE_DEBATERS.model_dump(), "protocol": "chateval", "branch_at": 1})
    assert THREE_DEBATERS.fingerprint() != BRANCHED.fingerprint()


def test_branching_against_an_openai_compatible_server():
    named = "You are agent {agent} in round {round}.\nQuestion: {question}\n{answer_instruction}"
    scenario = BRANCHED.model_copy(update={"prompts": {"debater.first_round": named}})

    def reply(messages: list[dict]) -> str:
        agent, round_ = re.search(r"You are agent (\w) in round (\d)", messages[-1]["content"]).groups()
        return follow(messages[-1]["content"], agent, int(round_), "persuaded")

    with FakeOpenAIServer(reply) as server:
        result = branched_debate(
            "persuaded", scenario=scenario, backend=f"openai://{server.address}?model=fake-model"
        )
        prompts = [body["messages"][-1]["content"] for body in server.chat_bodies]

    assert len(prompts) == 3 + (3 + 6) + 3
    assert sum(bool(ACCEPT.search(prompt)) for prompt in prompts) == 3
    assert [(b.message.author, b.continuation, b.message.answer) for b in result.transcript.branches] == [
        ("a", "accept", "6"), ("a", "resist", "5"), ("b", "accept", "5"),
        ("b", "resist", "6"), ("c", "accept", "6"), ("c", "resist", "5"),
    ]  # fmt: skip
    assert result.final_answer == "5"


def test_a_run_of_the_gsm8k_pbt_scenario_keeps_its_branches_and_the_cli_exports_them(tmp_path, capsys):
    from debate.cli import main
    from debate.datasets import Item
    from debate.loading import load_scenario
    from debate.runner import RunOptions, run_dataset
    from debate.transcript import load_results

    def answer(request) -> str:  # noqa: ANN001 - ChatRequest; the debate is named in its question
        prompt = request.messages[-1].content
        debate_id = re.search(r"Question of ([\w-]+)", prompt).group(1)
        return follow(prompt, request.agent, request.round, debate_id)

    items = [Item(id=name, question=f"Question of {name}", gold=GOLD[name]) for name in ANSWERS]
    run_dataset(
        load_scenario("gsm8k_pbt"),
        items,
        tmp_path / "run",
        backends=ScriptedBackend(answer),
        options=RunOptions(progress="off"),
    )
    results = list(load_results(tmp_path / "run" / "results.jsonl"))

    assert [len(result.transcript.branches) for result in results] == [6, 6, 6]
    assert main(["export", str(tmp_path / "run"), "--format", "pbt", "--out", str(tmp_path / "pbt")]) == 0
    assert "pbt rows from 3 debates" in capsys.readouterr().out
    assert {row["pair_from"] for row in rows(tmp_path / "pbt") if row["round"] == 1} == {"branches"}


# -- the pbt export pairs the continuations ---------------------------------------------------------------


def test_pbt_pairs_a_branched_turns_continuations_by_the_debates_label(branched_run, tmp_path):
    report = export_run(branched_run, "pbt", tmp_path)
    persuaded = {row["author"]: row for row in rows(tmp_path) if row["item_id"] == "persuaded"}

    accepted = persuaded["b"]  # wrong (6), persuaded by a right peer (5): accepting is chosen
    assert (accepted["situation"], accepted["pair_from"], accepted["observed"]) == (
        "accept correct persuasion", "branches", "chosen",
    )  # fmt: skip
    assert assistant_text(accepted["chosen"]) == "b told to accept: 5\n#### 5"
    assert assistant_text(accepted["rejected"]) == "b told to resist: 6\n#### 6"
    prompt = accepted["prompt"]  # the turn's context without the steering sentence
    assert [turn["role"] for turn in prompt] == ["system", "user", "assistant", "user"]
    assert prompt[2]["content"] == "b in round 0: 6\n#### 6"
    assert '<response agent="a">' in prompt[3]["content"] and "told to" not in str(prompt)

    resisted = persuaded["a"]  # right (5), met b's wrong 6: resisting is chosen
    assert (resisted["situation"], resisted["pair_from"]) == ("resist wrong persuasion", "branches")
    assert assistant_text(resisted["chosen"]) == "a told to resist: 5\n#### 5"
    assert assistant_text(resisted["rejected"]) == "a told to accept: 6\n#### 6"

    # a branched turn gives its branch pair only; later, unbranched turns give pairs from the debate as before
    assert {(row["round"], row["pair_from"]) for row in rows(tmp_path)} == {(1, "branches"), (2, "debate")}
    assert report.counts["resist wrong persuasion: done (branched turn)"] == 2 + 2 + 2  # two per debate


def test_pbt_branch_pairs_take_gold_only_when_asked_and_skip_turns_without_the_label(branched_run, tmp_path):
    by_final = export_run(branched_run, "pbt", tmp_path / "final")
    final = {row["author"]: row for row in rows(tmp_path / "final") if row["item_id"] == "gave-in"}
    assert final["c"]["situation"] == "accept correct persuasion"  # by the debate's 10, c was wrong
    assert assistant_text(final["c"]["chosen"]) == "c told to accept: 10\n#### 10"
    assert by_final.options["label"] == "final"

    by_gold = export_run(branched_run, "pbt", tmp_path / "gold", label="gold", min_agreement=0.0)
    gold = {row["author"]: row for row in rows(tmp_path / "gold") if row["item_id"] == "gave-in"}
    assert (gold["c"]["situation"], gold["c"]["observed"]) == ("resist wrong persuasion", "rejected")
    assert assistant_text(gold["c"]["chosen"]) == "c told to resist: 12\n#### 12"  # holding gold's 12
    assert assistant_text(gold["c"]["rejected"]) == "c told to accept: 10\n#### 10"
    assert gold["a"]["situation"] == "accept correct persuasion"  # a read c's 12, the gold answer
    assert assistant_text(gold["a"]["chosen"]) == "a told to accept: 12\n#### 12"

    # nobody said 7: every branched turn of that debate has neither side right, and it gives no pair
    assert not [row for row in rows(tmp_path / "gold") if row["item_id"] == "nobody-right"]
    assert by_gold.counts["branched turns where neither side gave the label"] == 3
    assert by_gold.skipped == {"no persuasion": 1}


def test_pbt_drops_a_branched_turn_whose_continuation_did_not_do_as_told(tmp_path):
    result = branched_debate("persuaded", backend=scripted(stubborn="b"))
    report = export_run(write_run(tmp_path / "run", [result]), "pbt", tmp_path / "out")

    assert sorted(row["author"] for row in rows(tmp_path / "out")) == ["a", "c"]
    assert report.counts["branched turns whose continuations did not do as told"] == 1


def test_pbt_branch_pairs_train_one_dpo_step(tiny_model_dir, branched_run, tmp_path):
    export_run(branched_run, "pbt", tmp_path / "data", rounds=[1])
    assert {row["pair_from"] for row in rows(tmp_path / "data")} == {"branches"}

    train_one_step("dpo", tmp_path / "data", tiny_model_dir, tmp_path / "model")
