"""Three outcomes per debate, kept apart: finished with an answer, finished without a valid answer, failed.

A QuALITY consultancy from the command line in which the judge's verdict is
invalid on two items (a letter outside the two answers in dispute; no
``Answer:`` line at all). Those debates finished: they count as wrong, are
listed with their reasons, and a retry leaves them alone (re-sampling them
until the model does well would bias accuracy). Only a backend that fails for
good makes a debate ``failed``, exit status 1, and a job for ``--retry-failed``.
"""

import json

from debate import ScriptedBackend, register_scheme
from debate.cli import main
from debate.datasets import load_quality
from debate.export import export_run

ITEMS = list(load_quality())
GOLD = {item.id: item.gold for item in ITEMS}
OUT_OF_DISPUTE, NO_ANSWER_LINE, DOWN = ITEMS[1].id, ITEMS[3].id, ITEMS[4].id
BACKENDS: list[ScriptedBackend] = []


def item_of(request) -> str:
    return next(item_id for item_id in GOLD if f"-{item_id}-" in request.debate_id)


def consultancy_models(request) -> str:
    """A consultant that just argues, and a judge that knows the gold answer but misbehaves on two items."""
    prompt = request.messages[-1].content
    if request.agent != "judge":
        return "My answer is the one the story supports."
    if "Write only the question." in prompt:
        return "Which sentence of the story settles it?"
    item = item_of(request)
    if item == NO_ANSWER_LINE:
        return "Both answers seem plausible to me."
    if item == OUT_OF_DISPUTE:
        answers = prompt.split("The two possible answers:\n")[1].split("\n\n")[0]
        outside = next(letter for letter in "ABCD" if f"({letter})" not in answers)
        return f"Neither convinces me.\nAnswer: {outside}\nConfidence: 0.6"
    return f"Answer: {GOLD[item]}\nConfidence: 0.9"


def consultancy_backend(rest: str) -> ScriptedBackend:
    """``test-consultancy:`` serves ``consultancy_models``; ``test-consultancy:down`` also fails every request of DOWN."""
    fail_if = (lambda request: item_of(request) == DOWN) if rest == "down" else None
    backend = ScriptedBackend(consultancy_models, fail_if=fail_if)
    BACKENDS.append(backend)
    return backend


register_scheme("test-consultancy", consultancy_backend)


def test_invalid_verdicts_finish_without_an_answer_and_only_failures_are_retried(tmp_path, capsys):
    out = tmp_path / "run"
    run = ["run", "quality_consultancy", "--data", "quality", "--out", str(out), "--progress", "off"]

    assert main([*run, "--backend", "test-consultancy:down"]) == 1  # the backend failed for good on one item
    printed = capsys.readouterr()
    assert "5/5 debates, 2 without an answer, 1 failed, accuracy 0.400" in printed.out
    assert "2 debates finished without a valid answer and count as wrong" in printed.err
    assert "1 debates failed; rerun with --retry-failed" in printed.err

    rows = {row["metadata"]["item_id"]: row for row in map(json.loads, (out / "results.jsonl").open())}
    assert {item: row["outcome"] for item, row in rows.items()} == {
        ITEMS[0].id: "answered",
        OUT_OF_DISPUTE: "no_answer",
        ITEMS[2].id: "answered",
        NO_ANSWER_LINE: "no_answer",
        DOWN: "failed",
    }
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["answered"], summary["no_answer"], summary["failed"]) == (2, 2, 1)
    reasons = {note["debate_id"]: note["reason"] for note in summary["no_answers"]}
    assert "is not one of the answers in dispute" in reasons[rows[OUT_OF_DISPUTE]["transcript"]["debate_id"]]
    assert "no 'Answer: ...' line" in reasons[rows[NO_ANSWER_LINE]["transcript"]["debate_id"]]
    assert summary["failures"][0]["reason"].startswith("BackendError: scripted failure")

    exported = export_run([out], "sft", tmp_path / "sft", label="final", min_agreement=0.0)
    assert (exported.skipped["failed debate"], exported.skipped["no final answer"]) == (1, 2)

    assert main([*run, "--backend", "test-consultancy:", "--retry-failed"]) == 0
    assert "5/5 debates, 2 without an answer, 0 failed, accuracy 0.600" in capsys.readouterr().out
    assert {item_of(request) for request in BACKENDS[-1].calls} == {DOWN}  # the invalid verdicts stand

    assert main(["report", str(out)]) == 0
    page = (out / "report" / "index.html").read_text(encoding="utf-8")
    assert "<th>without answer</th><th>failed</th>" in page
    assert "2 without an answer, 0 failed" in page
    no_answers = page.split("<table class='no-answers'>")[1].split("</table>")[0]
    assert "is not one of the answers in dispute" in no_answers and "no &#x27;Answer: ...&#x27; line" in no_answers
