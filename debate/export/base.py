"""What every export format shares: its options, the exporter record, and the question loop.

An exporter is data plus one generator: ``rows(results, options, report)``
turns debate results into rows of one TRL dataset format, and records in
``report`` what it skipped and why. Deduplication and the length limit are
applied to every format's rows here, after the exporter, so they mean the
same thing everywhere.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from debate.answers import AnswerFormat
from debate.export.card import ExportReport
from debate.export.labels import LabelSource, PseudoLabel, answer_messages, last_round, pseudo_label
from debate.export.prompts import Chat, PromptTemplates, solver_chat
from debate.messages import Message
from debate.transcript import DebateResult

Rounds = Literal["final", "all"] | list[int]
Column = Literal["chat", "string", "float", "int", "bool"]
Row = dict[str, Any]


class ExportOptions(BaseModel):
    """Options every format accepts (formats add their own and may change defaults).

    - ``rounds``: which rounds' messages to use: ``final``, ``all`` or a list of round numbers.
    - ``dedupe``: drop rows whose conversations repeat an earlier row's exactly.
    - ``max_words``: drop rows whose assistant text is longer than this many words.
    - ``context_fields``: context fields shown in prompts (none by default: no gold solution leaks).
    - ``answer``: the answer format the prompt asks for (``number``, ``choice``, ``text``).
    - ``prompt``: overrides of the solver prompt templates.
    - ``author_prompts``: overrides for the traces of named debaters that were asked otherwise (their own
      system prompt: a persona, a method); their rows are asked as they were, not with ``prompt``.
    """

    model_config = ConfigDict(extra="forbid")

    rounds: Rounds = "all"
    dedupe: bool = True
    max_words: int | None = Field(default=None, ge=1)
    context_fields: list[str] = Field(default_factory=list)
    answer: AnswerFormat = "number"
    prompt: PromptTemplates = Field(default_factory=PromptTemplates)
    author_prompts: dict[str, PromptTemplates] = Field(default_factory=dict)

    @field_validator("rounds", mode="before")
    @classmethod
    def _rounds_from_text(cls, rounds: Any) -> Any:
        """``"0,2"`` (as typed on a command line) is the list ``[0, 2]``."""
        if isinstance(rounds, str) and rounds not in ("final", "all"):
            try:
                return [int(part) for part in rounds.split(",") if part.strip()]
            except ValueError:
                raise ValueError(
                    f"expected 'final', 'all' or round numbers like '0,2', got {rounds!r}"
                ) from None
        return rounds

    @field_validator("rounds")
    @classmethod
    def _round_numbers_are_valid(cls, rounds: Rounds) -> Rounds:
        if isinstance(rounds, list) and (not rounds or any(number < 0 for number in rounds)):
            raise ValueError("round numbers must be a non-empty list of integers >= 0")
        return rounds

    def select_rounds(self, messages: Sequence[Message]) -> list[Message]:
        """``messages`` in ``rounds`` ("final": the last round among them)."""
        if self.rounds == "all":
            return list(messages)
        if self.rounds == "final":
            return last_round(messages)
        return [message for message in messages if message.round in self.rounds]

    def responses(self, result: DebateResult) -> list[Message]:
        """The answer-carrying messages of ``result`` in ``rounds``."""
        return self.select_rounds(answer_messages(result))

    def solver_prompt(self, result: DebateResult, author: str = "", **values: str) -> Chat:
        """The solver chat (system, user) for ``result``'s question, as ``author`` was asked when it has its own
        prompt (``author_prompts``); ``values`` fill extra placeholders."""
        transcript = result.transcript
        return solver_chat(
            transcript.question,
            transcript.context,
            answer=self.answer,
            context_fields=self.context_fields,
            templates=self.author_prompts.get(author, self.prompt),
            **values,
        )


class LabeledOptions(ExportOptions):
    """``ExportOptions`` for data labelled by the debate's outcome (see ``debate.export.labels``).

    - ``label``: ``majority`` of the last round (DTE) or the debate's ``final`` answer
      (the judge's verdict when a judge decided).
    - ``min_agreement``: skip questions whose last-round agreement with the label is lower (0 to 1).
    """

    label: LabelSource = "final"
    min_agreement: float = Field(default=0.5, ge=0.0, le=1.0)


RowsFunction = Callable[[Iterable[DebateResult], Any, ExportReport], Iterator[Row]]


@dataclass(frozen=True)
class Exporter:
    """One export format: its name, options, columns (TRL's names first) and row generator."""

    name: str
    summary: str
    """One line: what a row is."""
    trainer: str
    """The TRL trainer (and ``debate train --method``) that reads it."""
    options: type[ExportOptions]
    columns: Mapping[str, Column]
    rows: RowsFunction
    row_kind: Callable[[Row], str] | None = None
    """Names the kind of a written row (e.g. desirable / undesirable), counted in the report."""

    def parse_options(self, values: Mapping[str, Any]) -> ExportOptions:
        """Validated options; an unknown or bad option names itself and what is valid."""
        from pydantic import ValidationError

        try:
            return self.options.model_validate(dict(values))
        except ValidationError as error:
            problems = []
            for problem in error.errors():
                where = ".".join(str(part) for part in problem["loc"]) or "(options)"
                if problem["type"] == "extra_forbidden":
                    problems.append(
                        f"{where}: unknown option; valid: {', '.join(sorted(self.options.model_fields))}"
                    )
                else:
                    problems.append(f"{where}: {problem['msg']} (got {problem.get('input')!r})")
            raise ValueError(f"export format {self.name!r}: " + "; ".join(problems)) from None


def labeled_results(
    results: Iterable[DebateResult], options: LabeledOptions, report: ExportReport
) -> Iterator[tuple[DebateResult, PseudoLabel]]:
    """The debates that have a usable pseudo-label, counting the others in ``report`` by reason."""
    for result in results:
        report.debates += 1
        if result.failed:
            report.skip("failed debate")
            continue
        label = pseudo_label(result, source=options.label, min_agreement=options.min_agreement)
        if label.skip_reason is not None:
            report.skip(label.skip_reason)
            continue
        report.record_label(result, label)
        yield result, label


def filter_rows(
    rows: Iterable[Row], exporter: Exporter, options: ExportOptions, report: ExportReport
) -> Iterator[Row]:
    """Apply ``dedupe`` and ``max_words`` to any format, counting what was dropped and what was written."""
    chats = [name for name, kind in exporter.columns.items() if kind == "chat"]
    seen: set[bytes] = set()
    for row in rows:
        if options.max_words is not None:
            longest = max((_assistant_words(row[name]) for name in chats), default=0)
            if longest > options.max_words:
                report.drop("longer than max_words")
                continue
        if options.dedupe:
            key = hashlib.sha256(json.dumps([row[name] for name in chats], sort_keys=True).encode()).digest()
            if key in seen:
                report.drop("duplicate")
                continue
            seen.add(key)
        report.rows += 1
        if exporter.row_kind is not None:
            report.count(exporter.row_kind(row))
        yield row


def _assistant_words(chat: list[dict[str, str]]) -> int:
    return sum(len(turn["content"].split()) for turn in chat if turn["role"] == "assistant")
