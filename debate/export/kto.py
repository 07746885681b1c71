"""KTO examples: single responses labelled desirable or not, no pairing needed.

Per question with a usable label, every response in ``rounds`` with a parsed
answer becomes one row: ``label=True`` when its answer is the debate's
answer, ``False`` when the debate overturned it. Abstentions are left out.
All-agree debates give only desirable rows; the card's counts show the
balance, which KTO's ``desirable_weight``/``undesirable_weight`` can correct.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from debate.export.base import Exporter, LabeledOptions, Row, labeled_results
from debate.export.card import ExportReport
from debate.export.labels import item_id
from debate.export.prompts import assistant
from debate.transcript import DebateResult


def kto_rows(results: Iterable[DebateResult], options: LabeledOptions, report: ExportReport) -> Iterator[Row]:
    for result, label in labeled_results(results, options, report):
        for message in options.responses(result):
            if message.answer is None:
                continue
            desirable = message.answer == label.answer
            yield {
                "prompt": options.solver_prompt(result, message.author),  # as its author was asked
                "completion": assistant(message.text),
                "label": desirable,
                "answer": label.answer,
                "response_answer": message.answer,
                "round": message.round,
                "author": message.author,
                "debate_id": result.debate_id,
                "item_id": item_id(result),
            }


EXPORTER = Exporter(
    name="kto",
    summary="Each row is one debate response (`completion`) to the question (`prompt`), with `label` true when "
    "it gave the debate's answer (`answer`) and false when the debate overturned it.",
    trainer="KTOTrainer (debate train --method kto)",
    options=LabeledOptions,
    columns={
        "prompt": "chat",
        "completion": "chat",
        "label": "bool",
        "answer": "string",
        "response_answer": "string",
        "round": "int",
        "author": "string",
        "debate_id": "string",
        "item_id": "string",
    },
    rows=kto_rows,
    row_kind=lambda row: "desirable" if row["label"] else "undesirable",
)
