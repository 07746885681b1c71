"""Medprompt (Nori et al. 2023, "Can Generalist Foundation Models Outcompete Special-Purpose Tuning?
Case Study in Medicine"), as DebateLLM runs it: dynamic few-shot, chain of thought, choice-shuffle ensemble.

One round, no debate between agents; every debater is one member of the ensemble:

1. **Dynamic few-shot.** The ``shots`` pool examples most similar to the question open
   each prompt. Similarity is lexical, with no network and no embedding model: TF-IDF
   cosine over lower-cased word tokens (``idf = ln((1 + N) / (1 + df)) + 1``, raw term
   counts), ties broken by pool order. Pool questions identical to the asked one are skipped.
2. **Chain of thought.** Each example shows its rationale, then "The answer is X."; the
   prompt asks to think step by step first.
3. **Choice-shuffle ensemble.** For a multiple-choice question (options in
   ``metadata["options"]``, as ``load_quality`` writes them, else trailing ``A. ...``
   lines of the question) and the ``choice`` answer format, debater ``i`` sees the options
   in order ``option_order(i, n)`` (a rotation by ``i``; from ``i >= n`` on, reversed
   rotations), so up to ``2n`` debaters see distinct orders. Each answer letter (and each
   of its ``n`` samples) is mapped back to the original option's letter before the vote.
   The answer is the scenario's aggregation (majority by default).

The pool is a list of ``MedpromptExample``; ``Medprompt(pool=..., name=...)`` registers
a variant with your own. The registered ``medprompt`` uses the bundled GSM8K train split
(the worked solution as rationale, its ``#### n`` line cut).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import Any

from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, ConfigDict

from debate.agents.prompting import neutralize_tags
from debate.agents.roles import Agent
from debate.answers import ChoiceAnswer
from debate.datasets import OPTION_LETTERS, Item, load_gsm8k
from debate.graph import DebateRuntime, DebateState
from debate.messages import Message, MessageKind, Role
from debate.protocols import register_protocol
from debate.protocols.common import final_answer
from debate.scenario import Scenario

FINALIZE = "finalize"


class MedpromptExample(BaseModel):
    """One few-shot example: a question (options included), its worked rationale and its answer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    question: str
    rationale: str
    answer: str


def examples_from_items(
    items: Iterable[Item], *, rationale_field: str = "solution"
) -> list[MedpromptExample]:
    """Pool examples from dataset items with gold; the rationale is ``context[rationale_field]`` minus a ``####`` tail."""
    pool = []
    for item in items:
        if item.gold is None:
            continue
        rationale = item.context.get(rationale_field, "").rpartition("####")
        text = rationale[0] if rationale[1] else rationale[2]
        pool.append(MedpromptExample(question=item.question, rationale=text.strip(), answer=item.gold))
    return pool


_TOKEN = re.compile(r"\w+")


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


class TfidfIndex:
    """TF-IDF cosine over ``texts``; ``nearest(query, k)`` gives ``(index, score)``, best first, ties by index."""

    def __init__(self, texts: Sequence[str]) -> None:
        counts = [Counter(_tokens(text)) for text in texts]
        df: Counter[str] = Counter(term for count in counts for term in count)
        n = len(texts)
        self.idf = {term: math.log((1 + n) / (1 + d)) + 1 for term, d in df.items()}
        self.vectors = [self._vector(count) for count in counts]

    def _vector(self, count: Counter[str]) -> dict[str, float]:
        weights = {term: tf * self.idf.get(term, 0.0) for term, tf in count.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {term: w / norm for term, w in weights.items() if w}

    def scores(self, query: str) -> list[float]:
        q = self._vector(Counter(_tokens(query)))
        return [sum(w * vector.get(term, 0.0) for term, w in q.items()) for vector in self.vectors]

    def nearest(self, query: str, k: int, *, skip: Iterable[int] = ()) -> list[tuple[int, float]]:
        excluded = set(skip)
        ranked = sorted(
            ((i, s) for i, s in enumerate(self.scores(query)) if i not in excluded),
            key=lambda p: (-p[1], p[0]),
        )
        return ranked[:k]


def option_order(index: int, n: int) -> list[int]:
    """The order (original option indices) debater ``index`` sees ``n`` options in: rotate by ``index``; reversed from ``n`` on."""
    shift = index % n
    order = [(j + shift) % n for j in range(n)]
    return order[::-1] if (index // n) % 2 else order


_OPTION_LINE = re.compile(r"^\s*([A-J])[.)]\s+(.*\S)\s*$")


def split_options(question: str, metadata: dict[str, Any] | None = None) -> tuple[str, list[str]]:
    """(stem, options) of a multiple-choice question; options ``[]`` when it has none."""
    metadata = metadata or {}
    if metadata.get("options"):
        options = [str(option) for option in metadata["options"]]
        stem = metadata.get("question_text") or _strip_option_lines(question)[0]
        return str(stem), options
    return _strip_option_lines(question)


def _strip_option_lines(question: str) -> tuple[str, list[str]]:
    lines = question.rstrip().splitlines()
    options: list[str] = []
    while lines:
        match = _OPTION_LINE.match(lines[-1])
        if not match:
            break
        options.insert(0, match.group(2))
        lines.pop()
    letters = "".join(
        m.group(1)
        for m in (_OPTION_LINE.match(line) for line in question.rstrip().splitlines()[len(lines) :])
        if m
    )
    if len(options) < 2 or letters != OPTION_LETTERS[: len(options)]:
        return question, []
    return "\n".join(lines).rstrip(), options


class Medprompt:
    needs_judge = False

    def __init__(
        self, pool: Sequence[MedpromptExample] | None = None, *, shots: int = 5, name: str = "medprompt"
    ) -> None:
        self.name = name
        self.prompt_file = "medprompt"
        self.shots = shots
        self._pool = list(pool) if pool is not None else None

    @cached_property
    def pool(self) -> list[MedpromptExample]:
        return self._pool if self._pool is not None else examples_from_items(load_gsm8k(split="train"))

    @cached_property
    def index(self) -> TfidfIndex:
        return TfidfIndex([example.question for example in self.pool])

    def nearest(self, question: str) -> list[MedpromptExample]:
        """The ``shots`` pool examples most similar to ``question`` (identical questions skipped), best first."""
        same = [i for i, example in enumerate(self.pool) if example.question.strip() == question.strip()]
        return [self.pool[i] for i, _ in self.index.nearest(question, self.shots, skip=same)]

    def validate(self, scenario: Scenario) -> None:
        if scenario.rounds != 1:
            raise ValueError(
                f"rounds: protocol {self.name!r} answers in one round; set rounds=1 (got {scenario.rounds})"
            )

    def build(self, graph: StateGraph, runtime: DebateRuntime) -> None:
        nodes = []
        for index, debater in enumerate(runtime.scenario.debaters):
            node = f"debater {debater.name}"
            graph.add_node(node, self._debater_node(runtime, debater, index))
            graph.add_edge(START, node)
            nodes.append(node)

        def finalize(state: DebateState) -> dict[str, Any]:
            answers = [m for m in state.get("messages", []) if m.role is Role.DEBATER and m.round == 0]
            return {"final_answer": final_answer(runtime, state, answers), "stop_reason": "max_rounds"}

        graph.add_node(FINALIZE, finalize)
        graph.add_edge(nodes, FINALIZE)
        graph.add_edge(FINALIZE, END)

    def _debater_node(self, runtime: DebateRuntime, agent: Agent, index: int):  # noqa: ANN202
        shuffles = isinstance(runtime.parser, ChoiceAnswer)

        async def answer(state: DebateState) -> dict[str, Any]:
            question = state["question"]
            stem, options = split_options(question, state.get("metadata"))
            order = option_order(index, len(options)) if shuffles and options else []
            if order:
                lines = [f"{OPTION_LETTERS[j]}. {options[k]}" for j, k in enumerate(order)]
                question = "\n".join([stem, *lines])
            examples = "\n\n".join(
                runtime.prompt(
                    agent,
                    "debater.example",
                    state,
                    number=number,
                    example_question=neutralize_tags(example.question),
                    rationale=neutralize_tags(example.rationale),
                    example_answer=example.answer,
                )
                for number, example in enumerate(self.nearest(state["question"]), start=1)
            )
            prompt = runtime.prompt(
                agent, "debater.first_round", {**state, "question": question}, examples=examples
            )
            message = await runtime.speak(
                agent,
                state,
                kind=MessageKind.ARGUMENT,
                user_prompt=prompt,
                visible_to=[agent.name],  # ensemble members never read each other
            )
            return {"messages": [map_back(message, order)]}

        return answer


def _original(letter: str | None, order: Sequence[int]) -> str | None:
    if letter is None or not order:
        return letter
    shown = OPTION_LETTERS.find(letter)
    return OPTION_LETTERS[order[shown]] if 0 <= shown < len(order) else None


def map_back(message: Message, order: Sequence[int]) -> Message:
    """``message`` with its answer letters (and its samples') read in the original option order."""
    if not order:
        return message
    samples = [
        sample.model_copy(update={"answer": _original(sample.answer, order)}) for sample in message.samples
    ]
    return message.model_copy(update={"answer": _original(message.answer, order), "samples": samples})


register_protocol(Medprompt())
