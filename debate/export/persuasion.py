"""Persuasion-balanced pairs (PBT): prefer accepting correct persuasion and resisting wrong persuasion.

"Teaching Models to Balance Resisting and Accepting Persuasion" (Stengel-Eskin
et al., 2024) trains on dialogue turns where an agent met a persuasive peer:
it should be moved by a peer who is right and hold its ground against one who
is wrong. Round-based debates (RCR, simultaneous) hold exactly these turns.

**A persuasion turn** is a response in ``rounds`` (after round 0) that read
the author's own previous response and its peers' previous responses
(``responds_to``), both with parsed answers. Against the label (from
``debate.export.labels``; ``label="final"`` by default, ``"gold"`` when asked):

- *accept correct persuasion*: the agent was wrong and a peer it read gave the
  label. Switching to the label is the good behaviour, anything else bad.
- *resist wrong persuasion*: the agent was right and a peer it read gave
  another answer. Keeping the label is good, leaving it bad.

Turns with no such peer are no persuasion and give no pair; a debate with
none is skipped (``no persuasion``). All-agree debates therefore give none.

**The pair** has the turn's own context as ``prompt``: the solver chat, the
agent's previous response (assistant turn), and its peers' responses quoted
as untrusted text (user turn, ``peer_prompt``). The agent's actual response
is ``chosen`` when it behaved well, ``rejected`` when not (``observed``
says which). The other side is the opposite behaviour in the same kind of
turn from the same debate (the same agent's first, then any agent's); when
the debate has none, it is the text the opposite behaviour would repeat:
for accepting, the correct peer's response (good) or the agent's own wrong
previous one (bad); for resisting, the agent's own right previous response
(good) or the wrong peer's (bad).

**Branched turns** (a run with ``Scenario.branch_at``; ``debate.protocols.branching``)
give their own pair instead: the same agent answered the same turn told to
accept the persuading peer and told to resist it, so both sides are its own
words in that very context (PBT's dialogue tree). The accepting continuation
is ``chosen`` when the persuader gave the label, the resisting one when the
agent's previous answer did; when neither did, the turn gives no pair, nor
when a continuation did not do as told (its answer is not the persuader's,
resp. the agent's previous one). Both are counted. ``pair_from`` says
``branches`` or ``debate``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from debate.agents.prompting import quote_untrusted
from debate.answers import answer_parser
from debate.export.base import Exporter, LabeledOptions, Row, labeled_results
from debate.export.card import ExportReport
from debate.export.labels import LabelOrGold, PseudoLabel, answer_messages, item_id
from debate.export.prompts import Chat, assistant
from debate.messages import Branch, Message
from debate.transcript import DebateResult

ACCEPT, RESIST = "accept correct persuasion", "resist wrong persuasion"

PEER_PROMPT = """Other agents answered the same question:

{peers}

Weigh their reasoning against yours: change your answer if they have shown it wrong, keep it if they \
have not. {answer_instruction}"""


class PersuasionOptions(LabeledOptions):
    """``LabeledOptions`` (``label`` may also be ``gold``), ``peer_prompt`` (placeholders ``{peers}``,
    ``{answer_instruction}``) and ``max_pairs_per_question``."""

    label: LabelOrGold = "final"  # type: ignore[assignment]
    peer_prompt: str = PEER_PROMPT
    max_pairs_per_question: int | None = Field(default=None, ge=1)


@dataclass(frozen=True)
class PersuasionTurn:
    kind: str
    """``ACCEPT`` or ``RESIST``."""
    response: Message
    previous: Message
    """The author's own response that it read."""
    peers: list[Message]
    """The peers' responses it read, persuaders first."""
    persuader: Message
    good: bool


def persuasion_turns(
    result: DebateResult, label: PseudoLabel, options: LabeledOptions
) -> list[PersuasionTurn]:
    """The responses in ``options.rounds`` that met a peer arguing against the author's previous answer."""
    answers = {message.id: message for message in answer_messages(result)}
    turns = []
    for response in options.responses(result):
        read = [answers[message_id] for message_id in response.responds_to if message_id in answers]
        own = [message for message in read if message.author == response.author]
        peers = [
            message for message in read if message.author != response.author and message.answer is not None
        ]
        if response.answer is None or not own or own[-1].answer is None:
            continue
        previous = own[-1]
        was_right = previous.answer == label.answer
        persuaders = [peer for peer in peers if (peer.answer == label.answer) != was_right]
        if not persuaders:
            continue
        turns.append(
            PersuasionTurn(
                kind=RESIST if was_right else ACCEPT,
                response=response,
                previous=previous,
                peers=persuaders + [peer for peer in peers if peer not in persuaders],
                persuader=persuaders[0],
                good=response.answer == label.answer,
            )
        )
    return turns


def counterpart(turn: PersuasionTurn, turns: list[PersuasionTurn]) -> Message:
    """The opposite behaviour to ``turn``'s: in the same kind of turn of the debate, else the text it would repeat."""
    opposite = [other for other in turns if other.kind == turn.kind and other.good != turn.good]
    opposite.sort(key=lambda other: other.response.author != turn.response.author)
    if opposite:
        return opposite[0].response
    if turn.kind == ACCEPT:
        return turn.previous if turn.good else turn.persuader
    return turn.persuader if turn.good else turn.previous


def turn_prompt(result: DebateResult, turn: PersuasionTurn, options: PersuasionOptions) -> Chat:
    peers = "\n".join(quote_untrusted(peer.text, agent=peer.author) for peer in turn.peers)
    instruction = answer_parser(options.answer).instruction
    return [
        *options.solver_prompt(result, turn.previous.author),
        *assistant(turn.previous.text),
        {"role": "user", "content": options.peer_prompt.format(peers=peers, answer_instruction=instruction)},
    ]


@dataclass(frozen=True)
class PersuasionPair:
    turn: PersuasionTurn
    chosen: Message
    rejected: Message
    source: Literal["branches", "debate"]


def branch_pairs(
    result: DebateResult, label: PseudoLabel, options: LabeledOptions, report: ExportReport
) -> list[PersuasionPair]:
    """The branched turns in ``options.rounds``, each with its continuation that behaved well over the other."""
    messages = {message.id: message for message in result.transcript.messages}
    branches: dict[str, dict[str, Branch]] = {}
    for branch in result.transcript.branches:
        branches.setdefault(branch.of, {})[branch.continuation] = branch
    pairs = []
    for response in options.select_rounds([messages[of] for of in branches if of in messages]):
        accept, resist = branches[response.id]["accept"], branches[response.id]["resist"]
        persuader = messages[accept.steered_by]
        read = [messages[message_id] for message_id in response.responds_to if message_id in messages]
        [previous] = [message for message in read if message.author == response.author]
        if persuader.answer == label.answer:
            kind, chosen, rejected = ACCEPT, accept, resist
        elif previous.answer == label.answer:
            kind, chosen, rejected = RESIST, resist, accept
        else:
            report.count("branched turns where neither side gave the label")
            continue
        if accept.message.answer != persuader.answer or resist.message.answer != previous.answer:
            report.count("branched turns whose continuations did not do as told")
            continue
        peers = [message for message in read if message.author != response.author]
        turn = PersuasionTurn(
            kind=kind,
            response=response,
            previous=previous,
            peers=[persuader, *(peer for peer in peers if peer is not persuader)],
            persuader=persuader,
            good=response.answer == label.answer,
        )
        pairs.append(PersuasionPair(turn, chosen.message, rejected.message, "branches"))
    return pairs


def persuasion_pairs(
    result: DebateResult, label: PseudoLabel, options: LabeledOptions, report: ExportReport
) -> list[PersuasionPair]:
    """Branched turns' pairs, then the other persuasion turns' (the actual response against its counterpart)."""
    branched = {branch.of for branch in result.transcript.branches}
    turns = persuasion_turns(result, label, options)
    observed = []
    for turn in turns:
        if turn.response.id in branched:
            continue
        other = counterpart(turn, turns)
        chosen, rejected = (turn.response, other) if turn.good else (other, turn.response)
        observed.append(PersuasionPair(turn, chosen, rejected, "debate"))
    return branch_pairs(result, label, options, report) + observed


def persuasion_rows(
    results: Iterable[DebateResult], options: PersuasionOptions, report: ExportReport
) -> Iterator[Row]:
    for result, label in labeled_results(results, options, report):
        pairs = persuasion_pairs(result, label, options, report)
        if not pairs:
            report.skip("no persuasion")
            continue
        report.count("questions with pairs")
        for pair in pairs[: options.max_pairs_per_question]:
            turn = pair.turn
            yield {
                "prompt": turn_prompt(result, turn, options),
                "chosen": assistant(pair.chosen.text),
                "rejected": assistant(pair.rejected.text),
                "situation": turn.kind,
                "observed": "chosen" if turn.good else "rejected",
                "pair_from": pair.source,
                "answer": label.answer,
                "previous_answer": turn.previous.answer,
                "persuader_answer": turn.persuader.answer,
                "response_answer": turn.response.answer,
                "round": turn.response.round,
                "author": turn.response.author,
                "debate_id": result.debate_id,
                "item_id": item_id(result),
            }


EXPORTER = Exporter(
    name="pbt",
    summary="Each row is a preference pair on a persuasion turn (`prompt`: the question, the agent's previous "
    "response and its peers'): accepting a peer who gave the label or resisting one who did not (`chosen`) "
    "over the opposite (`rejected`); `situation` says which, `pair_from` whether both sides are the agent's "
    "own continuations of a branched turn (`branches`) or taken from the debate (`debate`).",
    trainer="debate train --method dpo (DPOTrainer)",
    options=PersuasionOptions,
    columns={
        "prompt": "chat",
        "chosen": "chat",
        "rejected": "chat",
        "situation": "string",
        "observed": "string",
        "pair_from": "string",
        "answer": "string",
        "previous_answer": "string",
        "persuader_answer": "string",
        "response_answer": "string",
        "round": "int",
        "author": "string",
        "debate_id": "string",
        "item_id": "string",
    },
    rows=persuasion_rows,
    row_kind=lambda row: (
        f"{row['situation']}: {'done' if row['observed'] == 'chosen' else 'not done'}"
        + (" (branched turn)" if row["pair_from"] == "branches" else "")
    ),
)
