"""SFT conversations: the DTE traces as whole chats in TRL's ``messages`` format.

Same selection as ``dte`` (the same ``DTEOptions`` and defaults): one conversation per
response that reached the consensus, system and user turns as the solver
prompt, the response as the assistant turn.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from debate.export.base import Exporter, Row
from debate.export.card import ExportReport
from debate.export.dte import TRACE_METADATA, DTEOptions, trace_fields, trace_rows
from debate.export.prompts import assistant
from debate.transcript import DebateResult


def sft_rows(results: Iterable[DebateResult], options: DTEOptions, report: ExportReport) -> Iterator[Row]:
    for result, label, trace, prompt in trace_rows(results, options, report):
        yield {"messages": prompt + assistant(trace.text), **trace_fields(result, label, trace)}


EXPORTER = Exporter(
    name="sft",
    summary="Each row is a conversation (`messages`): the question, then a debate response that reached the "
    "consensus answer (`answer`).",
    trainer="debate train --method sft (SFTTrainer)",
    options=DTEOptions,
    columns={"messages": "chat", **TRACE_METADATA},
    rows=sft_rows,
)
