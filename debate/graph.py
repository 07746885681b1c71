"""Compiling a scenario into a LangGraph ``StateGraph``.

The state is typed and messages accumulate through a reducer, so each node
returns only the messages it adds. The protocol (``debate/protocols/``) decides
which nodes exist and how they connect; this module holds what every protocol
shares: the state, the one way an agent speaks (prompt, call, parse, record),
and ``compile_debate``.
"""

from __future__ import annotations

import functools
import inspect
import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, TypedDict

from langgraph.graph import StateGraph
from langgraph.graph.state import CompiledStateGraph

from debate.agents.backends import (
    Backend,
    ChatMessage,
    ChatRequest,
    Completion,
    generate_one,
    resolve_backend,
)
from debate.agents.prompting import context_block, load_templates, render
from debate.agents.roles import Agent
from debate.answers import safe_parse, split_private_confidence
from debate.logprobs import summarize_logprobs
from debate.messages import Branch, Message, MessageKind, Role, Sample, SamplingParams, message_id
from debate.scenario import Scenario

DEFAULT_BACKEND = "default"


class DebateState(TypedDict, total=False):
    """What flows between nodes. ``messages`` only ever grows (reducer: list concatenation)."""

    debate_id: str
    question: str
    context: dict[str, str]
    round: int
    messages: Annotated[list[Message], operator.add]
    branches: Annotated[list[Branch], operator.add]
    """Alternative continuations of branched turns (``Scenario.branch_at``); never read by agents."""
    stop_reason: str | None
    final_answer: str | None
    gold: str | None
    """The reference answer. Never rendered into a prompt: protocols that assign sides (debate, consultancy) read it."""
    metadata: dict[str, Any]
    """The item's metadata (answer options, distractor, ``item_id``), for protocols that need more than the question."""


def on_the_event_loop(function: Any) -> Any:  # noqa: ANN401 - any node or router
    """``function`` as a coroutine function, so that LangGraph calls it on the event loop.

    LangGraph runs plain (sync) nodes and routers in a thread pool. Ours are
    pure and take microseconds, so the thread hop is what they would cost:
    at a thousand debates in flight it was a large share of the framework's CPU.
    """
    if not inspect.isfunction(function) or inspect.iscoroutinefunction(function):
        return function

    @functools.wraps(function)
    async def on_loop(*args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        return function(*args, **kwargs)

    return on_loop


class DebateGraph(StateGraph):
    """The ``StateGraph`` that protocols build: plain functions become coroutines (``on_the_event_loop``).

    Protocols write nodes and routers as ordinary functions; this keeps them off LangGraph's thread pool.
    """

    def add_node(self, node: Any, action: Any = None, **kwargs: Any) -> DebateGraph:  # noqa: ANN401
        if action is None:
            return super().add_node(on_the_event_loop(node), **kwargs)
        return super().add_node(node, on_the_event_loop(action), **kwargs)

    def add_conditional_edges(
        self, source: str, path: Callable[..., Any], path_map: Any = None
    ) -> DebateGraph:  # noqa: ANN401
        return super().add_conditional_edges(source, on_the_event_loop(path), path_map)


def agent_templates(scenario: Scenario, agent: Agent) -> dict[str, str]:
    """The templates ``agent`` speaks from in ``scenario``: its protocol's, then the scenario's and its own overrides."""
    from debate.protocols import get_protocol

    # variants of one protocol (e.g. debate with simultaneous or sequential turns) share one prompt file
    prompt_file = getattr(get_protocol(scenario.protocol), "prompt_file", scenario.protocol)
    return load_templates(prompt_file, scenario.prompts, agent.prompts)


class DebateRuntime:
    """Everything a node needs besides the state: the scenario, its backends, templates and parser."""

    def __init__(self, scenario: Scenario, backends: Mapping[str, Backend | str]) -> None:
        self.scenario = scenario
        self.parser = scenario.parser
        self.topology = scenario.visibility_graph()
        self.backends = {name: resolve_backend(backend) for name, backend in backends.items()}
        everyone = [*scenario.agents, *([scenario.judge] if scenario.judge else [])]
        self._templates = {agent.name: agent_templates(scenario, agent) for agent in everyone}
        for agent in everyone:
            self.backend_for(agent)  # fail now, not mid-debate, on a missing backend

    def backend_for(self, agent: Agent) -> Backend:
        key = agent.backend or DEFAULT_BACKEND
        if key in self.backends:
            return self.backends[key]
        if ":" in key:
            self.backends[key] = resolve_backend(key)
            return self.backends[key]
        raise ValueError(
            f"agent {agent.name!r} uses backend {key!r}, but run_debate got only {sorted(self.backends)}"
        )

    def prompt(self, agent: Agent, key: str, state: DebateState, **values: Any) -> str:
        """Render template ``key`` for ``agent`` with the question, the context it may see, and ``values``."""
        return render(
            self._templates[agent.name],
            key,
            question=state["question"],
            context=context_block(
                state.get("context") or {}, lambda field: self.scenario.sees(agent.role, field)
            ),
            answer_instruction=self.parser.instruction,
            agent=agent.name,
            round=state.get("round", 0),
            **values,
        )

    async def speak(
        self,
        agent: Agent,
        state: DebateState,
        *,
        kind: MessageKind,
        user_prompt: str,
        responds_to: Sequence[str] = (),
        visible_to: Sequence[str] = (),
        parse_answer: bool = True,
    ) -> Message:
        """One model call: build the chat, call the agent's backend, parse the answer, record a Message."""
        round_ = state.get("round", 0)
        system = self.prompt(agent, f"{agent.role.value}.system", state)
        sampling = agent.sampling
        schedule = self.scenario.temperature_schedule
        if schedule and agent.role is Role.DEBATER:
            sampling = sampling.model_copy(update={"temperature": schedule[min(round_, len(schedule) - 1)]})
        private = self.scenario.private_confidence and agent.role is Role.DEBATER
        if private:
            user_prompt += self.prompt(agent, "debater.private_confidence", state)
        request = ChatRequest(
            messages=[
                ChatMessage(role="system", content=system),
                ChatMessage(role="user", content=user_prompt),
            ],
            model=agent.model,
            sampling=sampling,
            agent=agent.name,
            debate_id=state["debate_id"],
            round=round_,
        )
        response = await generate_one(self.backend_for(agent), request)
        first, *_ = samples = [
            self.sample(completion, sampling, parse_answer, private) for completion in response.completions()
        ]
        return Message(
            id=message_id(state["debate_id"], round_, agent.name, kind),
            debate_id=state["debate_id"],
            round=round_,
            author=agent.name,
            role=agent.role,
            kind=kind,
            text=first.text,
            answer=first.answer,
            parse_error=first.parse_error,
            confidence=first.confidence,
            private_confidence=first.private_confidence,
            visible_to=list(visible_to),
            responds_to=list(responds_to),
            model=response.model or agent.model or "",
            sampling=sampling,
            usage=response.usage,
            latency_s=response.latency_s,
            logprobs=first.logprobs,
            samples=samples if len(samples) > 1 else [],
        )

    def sample(
        self, completion: Completion, sampling: SamplingParams, parse_answer: bool, private: bool
    ) -> Sample:
        """One completion parsed, its private confidence cut out, its log-probabilities summarised around the answer."""
        text_, private_confidence = (
            split_private_confidence(completion.text) if private else (completion.text, None)
        )
        parsed = safe_parse(self.parser, text_) if parse_answer else None
        answer = parsed.answer if parsed else None
        return Sample(
            text=text_,
            private_confidence=private_confidence,
            answer=answer,
            parse_error=parsed.reason if parsed else None,
            confidence=parsed.confidence if parsed else None,
            logprobs=summarize_logprobs(
                completion.logprobs,
                text=text_,
                answer=answer,
                keep_tokens=sampling.top_logprobs > 0,
            ),
        )


def compile_debate(
    scenario: Scenario,
    backends: Backend | str | Mapping[str, Backend | str],
    *,
    checkpointer: Any = None,
) -> CompiledStateGraph:
    """Compile ``scenario`` into a runnable LangGraph graph.

    ``backends`` is one backend (used by every agent) or a mapping from the
    names agents use in ``Agent.backend`` to backends; the key ``"default"``
    serves agents that name none. Compile once and invoke the graph for many
    questions: the graph holds no per-debate state.
    """
    from debate.protocols import get_protocol

    backend_map = dict(backends) if isinstance(backends, Mapping) else {DEFAULT_BACKEND: backends}
    runtime = DebateRuntime(scenario, backend_map)
    builder = DebateGraph(DebateState)
    get_protocol(scenario.protocol).build(builder, runtime)
    return builder.compile(checkpointer=checkpointer, name=scenario.name)
