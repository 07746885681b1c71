"""Gold answers are read the way answers are: by the scenario's answer parser, whatever the data source.

A GSM8K file's gold is the worked solution ending in ``#### 18``; the models'
final answers are parsed numbers. Read by the same parser, the two compare, so
a run whose model is always right scores 1.0 with no ``--gold-format`` flag.
Gold the parser cannot read is reported before the run, not found later as a
silent accuracy of 0.
"""

import json
import re

from fake_openai_server import FakeOpenAIServer

from debate import ChoiceAnswer, Debater, NumberAnswer, Scenario, ScriptedBackend, TextAnswer, load_results
from debate.cli import main
from debate.datasets import FieldMap, Item, bundled_path
from debate.gold import GoldReader
from debate.runner import RunOptions, run_dataset

GSM8K_ROWS = [json.loads(line) for line in bundled_path("gsm8k", "test.jsonl").open()][:4]


def final_number(solution: str) -> str:
    return solution.rpartition("####")[2].strip()


def solves_gsm8k(messages) -> str:
    """A model that is always right: it finds the question in its prompt and works to the solution's number."""
    prompt = messages[-1]["content"]
    row = next(row for row in GSM8K_ROWS if row["question"] in prompt)
    return f"Working through it step by step.\n#### {final_number(row['answer'])}"


def test_a_gsm8k_file_is_scored_by_the_final_number_of_its_worked_solutions(tmp_path, capsys):
    data = tmp_path / "gsm8k_test.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in GSM8K_ROWS))  # question, answer: "... #### 18"
    assert all("\n" in row["answer"] for row in GSM8K_ROWS)  # the gold column holds whole solutions
    out = tmp_path / "run"

    with FakeOpenAIServer(solves_gsm8k) as server:
        backend = f"openai://{server.address}?model=fake-model"
        argv = ["run", "gsm8k_rcr", "--data", str(data), "--out", str(out), "--backend", backend]
        assert main([*argv, "--progress", "off"]) == 0

    printed = capsys.readouterr()
    assert printed.out.startswith(f"{out}: 4/4 debates, 0 failed, accuracy 1.000")
    assert "warning" not in printed.err
    gold = {result.metadata["item_id"]: result.gold for result in load_results(out / "results.jsonl")}
    assert gold == {f"gsm8k_test-{index}": final_number(row["answer"]) for index, row in enumerate(GSM8K_ROWS)}
    assert json.loads((out / "summary.json").read_text())["accuracy"] == 1.0


def test_gold_the_answer_parser_cannot_read_is_reported_before_any_debate(tmp_path, capsys):
    data = tmp_path / "problems.jsonl"
    rows = [("x1", "What is 9 + 9?", "18"), ("x2", "How many?", "eighteen"), ("x3", "And now?", "unknown")]
    data.write_text("".join(json.dumps({"id": i, "question": q, "answer": a}) + "\n" for i, q, a in rows))
    out = tmp_path / "run"
    argv = ["run", "gsm8k_rcr", "--data", str(data), "--id-field", "id", "--out", str(out)]

    assert main([*argv, "--backend", "scripted:#### 18", "--progress", "log"]) == 0

    printed = capsys.readouterr()
    assert printed.err.startswith(  # first, before the run's own progress lines
        "debate run: warning: the 'number' answer parser cannot read the gold answer of 2 item(s), "
        "first 'x2': 'eighteen' (no number found in the response); they are scored against the gold as written"
    )
    assert "accuracy 0.333" in printed.out  # counted as wrong, not left out
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["dataset"]["unread_gold"] == {
        "parser": "number",
        "items": 2,
        "first_item": "x2",
        "first_gold": "eighteen",
        "reason": "no number found in the response",
    }


def test_each_parser_reads_gold_as_it_reads_answers_and_an_explicit_gold_format_wins():
    def gold(parser, raw, fields=None):
        return GoldReader.for_data(parser, fields)(Item(id="i", question="q", gold=raw)).gold

    assert gold(NumberAnswer(), "She makes 9 * 2 = $18.\n#### 18") == "18"
    assert gold(NumberAnswer(), "1,200.00") == "1200"
    assert gold(ChoiceAnswer(), "(B)") == "B"
    assert gold(TextAnswer(), "The Eiffel Tower.") == "eiffel tower"
    assert gold(NumberAnswer(), "#### 18", FieldMap(gold_format="text")) == "#### 18"  # read at load: kept
    reader = GoldReader(ChoiceAnswer())
    assert reader(Item(id="i", question="q")).gold is None and reader.unread is None  # no gold, nothing to read


def test_items_passed_from_python_have_their_gold_read_too(tmp_path, capsys):
    scenario = Scenario(name="sums", agents=[Debater("a"), Debater("b")], protocol="rcr", rounds=2, stop="fixed")

    def adds(request):
        a, b = map(int, re.search(r"What is (\d+) \+ (\d+)\?", request.messages[-1].content).groups())
        return f"#### {a + b}"

    items = [
        Item(id="worked", question="What is 2 + 2?", gold="2 + 2 = 4\n#### 4"),
        Item(id="plain", question="What is 3 + 3?", gold="6"),
        Item(id="unreadable", question="What is 4 + 4?", gold="eight"),
    ]
    options = RunOptions(progress="log", log_every_s=3600)
    summary = run_dataset(scenario, items, tmp_path, backends=ScriptedBackend(adds), options=options)

    assert summary.accuracy == 2 / 3
    gold = {result.metadata["item_id"]: result.gold for result in load_results(tmp_path / "results.jsonl")}
    assert gold == {"worked": "4", "plain": "6", "unreadable": "eight"}
    assert "cannot read the gold answer of 1 item(s), first 'unreadable': 'eight'" in capsys.readouterr().err
