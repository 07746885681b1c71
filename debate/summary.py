"""Run-level statistics computed from debate results, one result at a time.

The runner writes them to ``summary.json`` and reports render them, so both
read the same numbers. ``SummaryBuilder`` streams: memory stays flat however
many debates a run has.

Per-round numbers carry a debate's last round forward when it stopped early
(a debate that reached consensus in round 1 still counts in round 2 with its
round-1 answers), so every round's figure covers every debate.

The three outcomes of a debate are counted apart (``answered``,
``no_answer``, ``failed``) and the first debates without an answer and the
first failures are listed with their reasons.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from debate.metrics import PrivateConfidence, PrivateConfidenceTracker
from debate.transcript import DebateResult, Outcome
from debate.voting import consensus, majority_vote


class TokenCount(BaseModel):
    model_config = ConfigDict(extra="forbid")

    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    cost: float | None = None


class Flips(BaseModel):
    """Answer changes between consecutive rounds, judged against the gold answer."""

    model_config = ConfigDict(extra="forbid")

    right_to_wrong: int = 0
    wrong_to_right: int = 0
    wrong_to_wrong: int = 0


class DebateNote(BaseModel):
    """A debate without an answer, and why."""

    model_config = ConfigDict(extra="forbid")

    debate_id: str
    reason: str


class RunSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    debates: int = 0
    answered: int = 0
    """Debates that finished with a valid final answer."""
    no_answer: int = 0
    """Debates that finished without a valid final answer (scored as wrong; ``no_answers`` says why)."""
    failed: int = 0
    """Debates that did not finish (backend errors, crashes; ``failures`` says why): rerun by ``--retry-failed``."""
    with_gold: int = 0
    accuracy: float | None = None
    """Final answers equal to gold, over debates with gold (debates without an answer count as wrong,
    and so do failed ones: rerun them)."""
    accuracy_per_round: list[float] = Field(default_factory=list)
    """Majority vote of the debaters in each round vs gold."""
    consensus_per_round: list[float] = Field(default_factory=list)
    answer_changes_per_round: list[int] = Field(default_factory=list)
    flips_per_agent: dict[str, Flips] = Field(default_factory=dict)
    sycophancy: int = 0
    stop_reasons: dict[str, int] = Field(default_factory=dict)
    tokens_per_agent: dict[str, TokenCount] = Field(default_factory=dict)
    tokens_per_model: dict[str, TokenCount] = Field(default_factory=dict)
    total_tokens: int = 0
    total_cost: float | None = None
    wall_time_s: float = 0.0
    """Sum of per-debate wall times (debates overlap, so this exceeds the run's elapsed time)."""
    no_answers: list[DebateNote] = Field(default_factory=list)
    """The first debates without an answer, with their reasons (all are in the results file)."""
    failures: list[DebateNote] = Field(default_factory=list)
    """The first failures with their errors (all are in the results file)."""
    private_confidence: PrivateConfidence | None = None
    """Calibration per round, escalation and mutual overconfidence of debaters' confidences: the stated
    private one (``Scenario.private_confidence``), else the answer-token probability from log-probs
    (``source`` says which); ``None`` when no debater answer had either."""


class RoundOutcome(NamedTuple):
    """One round of one debate, as the per-round figures count it."""

    agreed: bool
    """Every debater gave the same answer (``debate.voting.consensus``)."""
    majority_correct: bool
    """The debaters' majority vote equals gold (False without gold)."""


def round_outcomes(result: DebateResult, rounds: int | None = None) -> list[RoundOutcome]:
    """Each round of ``result`` in which debaters answered: did they agree, was their majority right.

    With ``rounds``, a debate that stopped early repeats its last round up to
    ``rounds`` entries (and one that never answered is wrong and disagreeing
    in all of them): the carry-forward of every per-round figure, for callers
    that need it debate by debate (paired comparisons) rather than summed.
    """
    answers = (result.transcript.debater_answers(r) for r in range(result.transcript.rounds))
    outcomes = [
        RoundOutcome(
            agreed=consensus(messages) is not None,
            majority_correct=result.gold is not None and majority_vote(messages) == result.gold,
        )
        for messages in answers
        if messages
    ]
    if rounds is not None and len(outcomes) < rounds:
        last = outcomes[-1] if outcomes else RoundOutcome(agreed=False, majority_correct=False)
        outcomes += [last] * (rounds - len(outcomes))
    return outcomes


class SummaryBuilder:
    """Accumulates a ``RunSummary``; ``prices`` maps a model name to USD per 1M prompt and completion tokens.

    State is O(rounds + agents + models), not O(debates).
    """

    max_listed = 50
    """Debates without an answer, and failures, listed with their reasons (each kind)."""

    def __init__(self, prices: Mapping[str, tuple[float, float]] | None = None) -> None:
        self.prices = dict(prices or {})
        self.summary = RunSummary()
        self._correct = 0
        self._round_correct: list[int] = []
        self._round_consensus: list[int] = []
        self._round_changes: list[int] = []
        # debates that ended after k rounds: how many, and how many of them agreed / were right in their last round
        self._ended_after: Counter[int] = Counter()
        self._ended_agreeing: Counter[int] = Counter()
        self._ended_correct: Counter[int] = Counter()
        self._private_confidence = PrivateConfidenceTracker()
        self._stop = Counter[str]()
        self._agents: dict[str, TokenCount] = defaultdict(TokenCount)
        self._models: dict[str, TokenCount] = defaultdict(TokenCount)

    def add(self, result: DebateResult) -> None:
        self._private_confidence.add(result)
        summary = self.summary
        summary.debates += 1
        summary.wall_time_s += result.wall_time_s
        self._stop[result.stop_reason or "unknown"] += 1
        if result.outcome is Outcome.ANSWERED:
            summary.answered += 1
        elif result.outcome is Outcome.NO_ANSWER:
            summary.no_answer += 1
            self._list(summary.no_answers, result)
        else:
            summary.failed += 1
            self._list(summary.failures, result)
        for message in result.transcript.calls:
            for bucket in (self._agents[message.author], self._models[message.model or "unknown"]):
                bucket.prompt_tokens += message.usage.prompt_tokens
                bucket.completion_tokens += message.usage.completion_tokens
                bucket.calls += 1
        summary.sycophancy += len(result.dynamics.sycophancy)
        if result.gold is not None:
            summary.with_gold += 1
            self._correct += int(result.correct is True)
            self._add_flips(result)
        self._add_rounds(result)

    def _list(self, notes: list[DebateNote], result: DebateResult) -> None:
        if len(notes) < self.max_listed:
            notes.append(DebateNote(debate_id=result.debate_id, reason=result.reason or ""))

    def _add_rounds(self, result: DebateResult) -> None:
        rounds = round_outcomes(result)
        while len(self._round_correct) < len(rounds):
            self._round_correct.append(0)
            self._round_consensus.append(0)
            self._round_changes.append(0)
        for index, outcome in enumerate(rounds):
            self._round_consensus[index] += int(outcome.agreed)
            self._round_correct[index] += int(outcome.majority_correct)
        for change in result.dynamics.changes:
            self._round_changes[change.round] += 1
        if rounds:
            self._ended_after[len(rounds)] += 1
            self._ended_agreeing[len(rounds)] += int(rounds[-1].agreed)
            self._ended_correct[len(rounds)] += int(rounds[-1].majority_correct)

    def _add_flips(self, result: DebateResult) -> None:
        for change in result.dynamics.changes:
            flips = self.summary.flips_per_agent.setdefault(change.agent, Flips())
            before_right, after_right = change.before == result.gold, change.after == result.gold
            if before_right and not after_right:
                flips.right_to_wrong += 1
            elif after_right and not before_right:
                flips.wrong_to_right += 1
            else:
                flips.wrong_to_wrong += 1

    def build(self) -> RunSummary:
        summary = self.summary.model_copy(deep=True)
        correct, agreeing = list(self._round_correct), list(self._round_consensus)
        for ended_after in self._ended_after:  # carry early-stopped debates forward
            for index in range(ended_after, len(correct)):
                agreeing[index] += self._ended_agreeing[ended_after]
                correct[index] += self._ended_correct[ended_after]
        if summary.debates:
            summary.consensus_per_round = [count / summary.debates for count in agreeing]
        if summary.with_gold:
            summary.accuracy = self._correct / summary.with_gold
            summary.accuracy_per_round = [count / summary.with_gold for count in correct]
        summary.answer_changes_per_round = list(self._round_changes)
        summary.stop_reasons = dict(self._stop)
        summary.tokens_per_agent = {name: count.model_copy() for name, count in self._agents.items()}
        summary.tokens_per_model = {name: self._priced(name, count) for name, count in self._models.items()}
        summary.total_tokens = sum(c.prompt_tokens + c.completion_tokens for c in self._models.values())
        costs = [count.cost for count in summary.tokens_per_model.values() if count.cost is not None]
        summary.total_cost = sum(costs) if costs else None
        summary.private_confidence = self._private_confidence.build()
        return summary

    def _priced(self, model: str, count: TokenCount) -> TokenCount:
        priced = count.model_copy()
        if model in self.prices:
            prompt_price, completion_price = self.prices[model]
            priced.cost = (
                count.prompt_tokens * prompt_price + count.completion_tokens * completion_price
            ) / 1e6
        return priced


def summarize(
    results: Iterable[DebateResult], prices: Mapping[str, tuple[float, float]] | None = None
) -> RunSummary:
    builder = SummaryBuilder(prices)
    for result in results:
        builder.add(result)
    return builder.build()
