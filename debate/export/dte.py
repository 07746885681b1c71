"""DTE traces: per question, the debate's consensus as pseudo-label and the reasoning that reached it.

This is the data of "Debate, Train, Evolve": no gold answer is read. Each
row is one response that gave the consensus answer, as a TRL conversational
prompt-completion pair, with the label in ``answer``: GRPO rewards agreement
with ``answer`` (``debate train --method grpo``), SFT imitates ``completion``.

Defaults follow DTE: the label is the majority of the last round
(``label="majority"``; ties are skipped), only last-round responses are kept
(``rounds="final"``), and at least half of the last round must agree
(``min_agreement=0.5``). A unanimous debate contributes every debater's final
response (identical texts collapse under ``dedupe``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from debate.export.base import Column, Exporter, LabeledOptions, Rounds, Row, labeled_results
from debate.export.card import ExportReport
from debate.export.labels import LabelSource, PseudoLabel, item_id
from debate.export.prompts import assistant
from debate.messages import Message
from debate.transcript import DebateResult


class DTEOptions(LabeledOptions):
    """``LabeledOptions`` with DTE's defaults: the majority of the last round labels it, only last-round traces."""

    label: LabelSource = "majority"
    rounds: Rounds = "final"


def consensus_traces(result: DebateResult, label: PseudoLabel, options: LabeledOptions) -> list[Message]:
    """The responses in ``options.rounds`` whose answer is the label."""
    return [message for message in options.responses(result) if message.answer == label.answer]


def trace_rows(
    results: Iterable[DebateResult], options: LabeledOptions, report: ExportReport
) -> Iterator[tuple[DebateResult, PseudoLabel, Message, list[dict[str, str]]]]:
    """(result, label, trace, prompt) for every kept trace; what the ``dte`` and ``sft`` formats share."""
    for result, label in labeled_results(results, options, report):
        traces = consensus_traces(result, label, options)
        if not traces:
            report.skip("no agreeing response in the chosen rounds")
            continue
        for trace in traces:
            yield result, label, trace, options.solver_prompt(result, trace.author)


def trace_fields(result: DebateResult, label: PseudoLabel, trace: Message) -> Row:
    """The label and provenance columns that ``dte`` and ``sft`` rows share."""
    return {
        "answer": label.answer,
        "agreement": label.agreement,
        "round": trace.round,
        "author": trace.author,
        "debate_id": result.debate_id,
        "item_id": item_id(result),
    }


def dte_rows(results: Iterable[DebateResult], options: DTEOptions, report: ExportReport) -> Iterator[Row]:
    for result, label, trace, prompt in trace_rows(results, options, report):
        yield {"prompt": prompt, "completion": assistant(trace.text), **trace_fields(result, label, trace)}


TRACE_METADATA: dict[str, Column] = {
    "answer": "string",
    "agreement": "float",
    "round": "int",
    "author": "string",
    "debate_id": "string",
    "item_id": "string",
}

EXPORTER = Exporter(
    name="dte",
    summary="Each row is a debate response that reached the consensus answer (`completion`) to the question "
    "(`prompt`), with the consensus in `answer` as pseudo-label: DTE's ground-truth-free data.",
    trainer="debate train --method grpo (GRPOTrainer: prompt + answer) or --method sft (SFTTrainer)",
    options=DTEOptions,
    columns={"prompt": "chat", "completion": "chat", **TRACE_METADATA},
    rows=dte_rows,
)
