"""Branching a turn into a dialogue tree, as in PBT (Stengel-Eskin et al. 2024, "Teaching Models to Balance
Resisting and Accepting Persuasion").

At ``Scenario.branch_at`` a debater whose peers disagreed with its previous
answer answers the same turn twice more, from the same prompt with one
sentence added (``debater.branch_accept`` / ``debater.branch_resist``): adopt
the persuading peer's answer, or keep its own. Both continuations are kept as
``Branch`` records beside the transcript; nobody reads them and the debate
goes on from the turn's own message, so a branched debate says exactly what
the unbranched one would. The ``pbt`` export pairs the two continuations.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence

from debate.agents.roles import Agent
from debate.graph import DebateRuntime, DebateState
from debate.messages import Branch, Continuation, Message, MessageKind, message_id

CONTINUATIONS: tuple[Continuation, ...] = ("accept", "resist")
"""A persuaded turn's two branches, in this order."""


def persuader(own: Message, peers: Sequence[Message]) -> Message | None:
    """The peer a turn branches on: one giving the answer most common among the peers who disagreed with
    ``own`` (the first such peer, in topology order, on a tie); ``None`` when nobody disagreed."""
    if own.answer is None:
        return None
    disagreeing = [peer for peer in peers if peer.answer is not None and peer.answer != own.answer]
    if not disagreeing:
        return None
    counts = Counter(peer.answer for peer in disagreeing)
    return max(disagreeing, key=lambda peer: counts[peer.answer])  # max keeps the first of equals


async def branch_turn(
    runtime: DebateRuntime,
    agent: Agent,
    state: DebateState,
    *,
    kind: MessageKind,
    prompt: str,
    own: Message,
    peers: Sequence[Message],
) -> list[Branch]:
    """The accepting and resisting continuations of ``agent``'s turn, or none when no peer disagreed."""
    persuading = persuader(own, peers)
    if persuading is None:
        return []
    turn_id = message_id(state["debate_id"], state.get("round", 0), agent.name, kind)
    return list(
        await asyncio.gather(
            *(
                speak_branch(
                    runtime,
                    agent,
                    state,
                    turn_id=turn_id,
                    continuation=continuation,
                    steered_by=persuading.id,
                    kind=kind,
                    prompt=prompt,
                    instruction=runtime.prompt(
                        agent,
                        f"debater.branch_{continuation}",
                        state,
                        persuader=persuading.author,
                        persuader_answer=persuading.answer,
                        own_answer=own.answer,
                    ),
                    responds_to=[own.id, *(peer.id for peer in peers)],
                )
                for continuation in CONTINUATIONS
            )
        )
    )


async def speak_branch(
    runtime: DebateRuntime,
    agent: Agent,
    state: DebateState,
    *,
    turn_id: str,
    continuation: Continuation,
    steered_by: str,
    kind: MessageKind,
    prompt: str,
    instruction: str,
    responds_to: Sequence[str],
) -> Branch:
    """``agent``'s turn ``turn_id`` spoken again from ``prompt`` with ``instruction`` added, read by nobody."""
    message = await runtime.speak(
        agent, state, kind=kind, user_prompt=prompt + instruction, responds_to=responds_to, visible_to=[]
    )
    return Branch(
        of=turn_id,
        continuation=continuation,
        steered_by=steered_by,
        instruction=instruction,
        message=message.model_copy(update={"id": f"{turn_id}/{continuation}"}),
    )
