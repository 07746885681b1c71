"""The recipes of issue 20: step-level pairs (Step-DPO), stance data (DEBATUNE), persuasion-balanced pairs (PBT).

Each format's rows on hand-built debates, then one TRL training step on the tiny model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from export_support import (
    assistant_text,
    gsm_results,
    rows,
    stance_results,
    step_results,
    train_one_step,
    write_run,
)
from oversight_support import debate_scenario, oversight_script, quality_item, run_item

from debate import ScriptedBackend
from debate.export import export_run
from debate.export.steps import first_wrong_step, solution_steps


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("recipe-runs")
    return {
        "gsm": write_run(root / "gsm", gsm_results()),
        "steps": write_run(root / "steps", step_results()),
        "stances": write_run(root / "stances", stance_results()),
    }


# -- step_dpo: the first wrong step against the consensus solution's next step --------------------


def test_steps_are_the_lines_before_the_answer_line_and_the_answer_line():
    assert solution_steps("3 * 4 = 12\n\n12 - 2 = 10\n#### 10\nHope this helps") == [
        "3 * 4 = 12",
        "12 - 2 = 10",
        "#### 10",
    ]
    assert solution_steps("4 + 4 = 9, so the answer is 9") is None


def test_first_wrong_step_is_the_first_number_the_consensus_solution_and_question_never_state():
    consensus = ["There are 3 * 4 = 12 apples.", "12 - 2 = 10 are left.", "#### 10"]
    wrong = ["Ana has 3 bags.", "3 * 4 = 12", "12 - 2 = 9", "#### 9"]

    pair = first_wrong_step(wrong, consensus, "Ana has 3 bags of 4 apples and eats 2.")

    assert pair is not None
    assert pair.prefix == ["Ana has 3 bags.", "3 * 4 = 12"]  # restating the question is never wrong
    assert (pair.rejected_step, pair.chosen_step, pair.wrong_index) == (
        "12 - 2 = 9",
        "12 - 2 = 10 are left.",
        2,
    )
    # every value supported: the mistake cannot be located
    assert first_wrong_step(["3 * 4 = 12", "#### 12"], consensus, "") is None


def test_step_dpo_pairs_share_the_correct_prefix_and_differ_in_the_next_step(runs, tmp_path):
    report = export_run(runs["steps"], "step_dpo", tmp_path)
    by_item = {row["item_id"]: row for row in rows(tmp_path)}

    second = by_item["second-step"]
    assert second["prefix"] == "3 * 4 = 12 apples in the bags."
    assert second["rejected_step"] == "Ana eats 2: 12 - 2 = 9"
    assert (
        second["chosen_step"] == "12 - 2 = 10"
    )  # b's own correction is the consensus solution it is compared with
    assert assistant_text(second["chosen"]) == "3 * 4 = 12 apples in the bags.\n12 - 2 = 10"
    assert assistant_text(second["rejected"]) == "3 * 4 = 12 apples in the bags.\nAna eats 2: 12 - 2 = 9"
    assert (second["wrong_step_index"], second["answer"], second["rejected_answer"]) == (1, "10", "9")
    assert "#### 10" not in json.dumps(second["prompt"])  # the prompt is the question alone

    line = by_item["answer-line"]  # all steps right, the answer line wrong
    assert (line["chosen_step"], line["rejected_step"]) == ("#### 15", "#### 16")

    assert "no-answer-line" not in by_item
    assert report.skipped == {"no step pair": 1}
    assert report.counts["refuted responses without an answer line"] == 1


def test_step_dpo_labels_from_the_debate_unless_gold_is_asked_for(runs, tmp_path):
    # wrong-majority: the debate settled on 10 (gold 12); its pair rejects the right solution
    export_run(runs["gsm"], "step_dpo", tmp_path / "final")
    [row] = [row for row in rows(tmp_path / "final") if row["item_id"] == "wrong-majority"]
    assert (row["chosen_step"], row["rejected_step"]) == ("6 + 4 = 10", "6 * 2 = 12")

    gold = export_run(runs["gsm"], "step_dpo", tmp_path / "gold", label="gold", min_agreement=0.0)
    pairs = [row for row in rows(tmp_path / "gold") if row["item_id"] == "wrong-majority"]
    assert {row["chosen_step"] for row in pairs} == {"6 * 2 = 12"}
    assert {row["rejected_author"] for row in pairs} == {"a", "b"}
    assert gold.options["label"] == "gold"


# -- stance: each side's strongest statement for its stance --------------------------------------


def test_stance_rows_hold_each_sides_last_argument_with_its_position_in_the_prompt(runs, tmp_path):
    report = export_run(runs["stances"], "stance", tmp_path)
    data = rows(tmp_path)

    minutes = {row["author"]: row for row in data if row["item_id"] == "minutes"}
    affirmative, negative = minutes["affirmative"], minutes["negative"]
    assert assistant_text(affirmative["messages"]) == "Clocks count 60 minutes to the hour.\n#### 60"
    assert (affirmative["stance"], affirmative["opponent_stance"], affirmative["won"]) == ("60", "100", True)
    assert "Your position: 60" in affirmative["messages"][1]["content"]
    assert assistant_text(negative["messages"]) == "Metric time would make it 100.\n#### 100"
    assert (negative["stance"], negative["won"], negative["round"]) == ("100", False, 1)
    # the negative that gave in conceded: only the affirmative's stance is kept
    assert [row["author"] for row in data if row["item_id"] == "gave-in"] == ["affirmative"]
    assert report.skipped == {"no opposite stances": 1}
    assert report.counts["sides that gave up their stance"] == 1


def test_stance_winner_side_and_every_round(runs, tmp_path):
    winners = export_run(runs["stances"], "stance", tmp_path / "winner", sides="winner")
    assert {(row["item_id"], row["author"]) for row in rows(tmp_path / "winner")} == {
        ("minutes", "affirmative"),
        ("gave-in", "affirmative"),
    }
    assert winners.pseudo_label_accuracy == 1.0  # the moderator's side against gold

    export_run(runs["stances"], "stance", tmp_path / "all", rounds="all")
    minutes = [row for row in rows(tmp_path / "all") if row["item_id"] == "minutes"]
    assert sorted((row["author"], row["round"]) for row in minutes) == [
        ("affirmative", 0),
        ("affirmative", 1),
        ("negative", 0),
        ("negative", 1),
    ]


def test_stance_from_an_adversarial_debate_with_assigned_sides(tmp_path):
    item = quality_item(3)
    result = run_item(debate_scenario(rounds=2), item, ScriptedBackend(oversight_script))
    run = write_run(tmp_path / "run", [result])

    export_run(run, "stance", tmp_path / "out", answer="choice")

    data = rows(tmp_path / "out")
    assert {row["author"] for row in data} == {"debater_1", "debater_2"}
    assert len({row["stance"] for row in data}) == 2 and item.gold in {row["stance"] for row in data}
    assert all(row["round"] == 1 for row in data)
    assert "SENTINEL" not in json.dumps([row["messages"][:2] for row in data])  # the passage stays out


# -- pbt: accepting correct persuasion, resisting wrong persuasion ----------------------------------


def test_pbt_rewards_accepting_a_right_peer_and_resisting_a_wrong_one(runs, tmp_path):
    report = export_run(runs["gsm"], "pbt", tmp_path)
    overturned = {row["author"]: row for row in rows(tmp_path) if row["item_id"] == "overturned"}

    accepted = overturned["b"]  # b said 6, read a's and c's 5, switched to 5
    assert (accepted["situation"], accepted["observed"]) == ("accept correct persuasion", "chosen")
    assert assistant_text(accepted["chosen"]) == "I was wrong: 2 + 3 = 5\n#### 5"
    assert assistant_text(accepted["rejected"]) == "2 + 3 = 6\n#### 6"  # holding on to its own wrong answer
    prompt = accepted["prompt"]
    assert [turn["role"] for turn in prompt] == ["system", "user", "assistant", "user"]
    assert prompt[2]["content"] == "2 + 3 = 6\n#### 6"
    assert '<response agent="a">\n2 + 3 = 5\n#### 5\n</response>' in prompt[3]["content"]

    resisted = overturned["a"]  # a said 5, read b's 6, kept 5
    assert (resisted["situation"], resisted["observed"]) == ("resist wrong persuasion", "chosen")
    assert assistant_text(resisted["rejected"]) == "2 + 3 = 6\n#### 6"  # giving in to b
    assert report.skipped["no persuasion"] == 1  # all agreed: nobody was ever persuaded


def test_pbt_pairs_the_opposite_behaviour_of_the_same_debate_and_labels_from_gold_when_asked(runs, tmp_path):
    # wrong-majority, by gold (12): a and b were wrong, read c's 12 and kept 10; c resisted them
    export_run(runs["gsm"], "pbt", tmp_path, label="gold", min_agreement=0.0)
    pairs = {row["author"]: row for row in rows(tmp_path) if row["item_id"] == "wrong-majority"}

    held_wrong = pairs["a"]
    assert (held_wrong["situation"], held_wrong["observed"]) == ("accept correct persuasion", "rejected")
    assert assistant_text(held_wrong["rejected"]) == "6 + 4 = 10\n#### 10"
    assert assistant_text(held_wrong["chosen"]) == "6 * 2 = 12\n#### 12"  # adopting c's right answer
    assert (pairs["c"]["situation"], pairs["c"]["observed"]) == ("resist wrong persuasion", "chosen")

    # by the debate's own label (10) the same turns read the other way round
    export_run(runs["gsm"], "pbt", tmp_path / "final")
    by_final = {row["author"]: row for row in rows(tmp_path / "final") if row["item_id"] == "wrong-majority"}
    assert by_final["a"]["situation"] == "resist wrong persuasion"
    assert (by_final["c"]["situation"], by_final["c"]["observed"]) == (
        "accept correct persuasion",
        "rejected",
    )


def test_pbt_turns_in_the_same_situation_pair_with_each_other(tmp_path):
    from export_support import THREE_DEBATERS, debate

    # c kept its wrong 9 after reading two right peers; b switched from 9 to the label
    script = {
        "mixed": {
            "a": ["4 + 4 = 8\n#### 8"],
            "b": ["4 + 4 = 9\n#### 9", "Right, 4 + 4 = 8\n#### 8"],
            "c": ["4 + 4 = 9\n#### 9", "Still 9\n#### 9", "Now 8\n#### 8"],
        }
    }
    result = debate(THREE_DEBATERS.model_copy(update={"rounds": 3}), script, "mixed", "What is 4 + 4?", "8")
    export_run(write_run(tmp_path / "run", [result]), "pbt", tmp_path / "out", rounds=[1])

    [stayed] = [row for row in rows(tmp_path / "out") if row["author"] == "c"]
    assert stayed["observed"] == "rejected"
    assert assistant_text(stayed["rejected"]) == "Still 9\n#### 9"
    assert assistant_text(stayed["chosen"]) == "Right, 4 + 4 = 8\n#### 8"  # b's switch in the same situation


# -- each recipe trains one step with its TRL trainer ------------------------------------------------


@pytest.mark.parametrize(
    ("format", "method", "run"),
    [("step_dpo", "dpo", "steps"), ("stance", "sft", "stances"), ("pbt", "dpo", "gsm")],
)
def test_each_recipe_trains_one_step_with_its_trl_trainer(
    tiny_model_dir, runs, tmp_path, format, method, run
):
    export_run(runs[run], format, tmp_path / "data")

    train_one_step(method, tmp_path / "data", tiny_model_dir, tmp_path / "model")


def test_cli_exports_the_recipes_and_takes_gold_labels_only_when_asked(runs, tmp_path, capsys):
    from debate.cli import main

    assert main(["export", str(runs["gsm"]), "--format", "pbt", "--out", str(tmp_path / "cli"),
                 "--label", "gold", "--min-agreement", "0"]) == 0  # fmt: skip
    assert "pbt rows from 4 debates" in capsys.readouterr().out
    export_run(runs["gsm"], "pbt", tmp_path / "api", label="gold", min_agreement=0.0)
    assert rows(tmp_path / "cli") == rows(tmp_path / "api")
    with pytest.raises(ValueError, match=r"label: Input should be 'majority' or 'final'"):
        export_run(runs["gsm"], "dpo", tmp_path / "dpo", label="gold")  # the older formats never read gold
