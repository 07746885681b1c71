"""The embedded demo model: a small chat model trained here, in minutes, to solve and to debate the testbed task.

A fresh machine has no model and may have no network, yet a researcher should
see a real debate on a real model. ``debate model build-demo``
trains one on the CPU for the bundled arithmetic task (``debate.arithmetic``),
in the very prompts of the ``arithmetic_rcr`` and ``arithmetic_single``
scenarios, on two kinds of turns (``training_conversations``):

- **solving**: round 0, the question alone, answered with the worked solution
  in the method the debater is asked for (``arithmetic_rcr``'s three debaters
  solve in three ways, so that their slips differ);
- **revising**: later rounds, the debater's own first answer and its peers'
  in view, sometimes right and sometimes a slip; the target is always the
  correct solution, whoever was right, so that following the majority is not
  what is rewarded. First on answers drawn at random, then, in a second
  stage, on the model's own debates (``own_debate_turns``), whose
  disagreements are the ones it will meet; its first answers in those
  debates are trained on as it wrote them, so that the second stage changes
  how it revises and not how it answers first.

The tokenizer keeps digits apart (one token per digit), so that numbers are
written digit by digit as in column arithmetic. What the model reaches, and
what debate and DTE do for it, is measured in docs/testbed.md. The result is a standard Hugging
Face model directory that ``TransformersBackend`` (``hf:DIR``), vLLM and TRL
load. It lands in ``$DEBATE_HOME/demo-model`` (``DEBATE_HOME`` defaults to
``~/.cache/debate``) unless told otherwise.

What it cannot do: anything but these arithmetic problems. It has never seen
GSM8K, other prompts, or prose to write.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from debate.agents.backends.base import Backend, ChatRequest, ChatResponse
from debate.arithmetic import METHOD_PROMPTS, SLIPS, Problem, method_solution, problems
from debate.gc_tuning import relaxed_gc
from debate.runner.progress import ProgressMode, quiet_library_bars, resolve_mode
from debate.tiny_model import CHAT_TEMPLATE, init_model, save_model, train_tokenizer

if TYPE_CHECKING:
    from debate.scenario import Scenario

BUILD_INFO_FILE = "debate_demo.json"
"""Written beside the weights: how the model was built and how training went."""

TASK = "arithmetic-v6"
"""What a demo model was taught, and by which recipe; a directory built otherwise is rebuilt, not reused."""

CHECK_PROBLEMS = 300
"""Unseen ``build`` problems whose solutions decide when stage 1 has learned enough (``DemoConfig.stop_when_solved``)."""

CHECK_AFTER_TURNS = 1_200
"""Where the check's problems start, counted from the end of stage 1's turns: past the default second stage's
debates, and there whatever ``own_debates`` is, so that the second stage's size does not move where stage 1 stops.
A larger second stage debates some of them too, which is harmless: the check is over by then."""

Conversation = list[dict[str, str]]

_METHOD_OF_PROMPT = {prompt: method for method, prompt in METHOD_PROMPTS.items()}
"""Which method a debater's system prompt asks for: the method its training answers are written in."""


def debate_home() -> Path:
    """Where the framework keeps what it builds: ``$DEBATE_HOME``, else ``~/.cache/debate``."""
    return Path(os.environ.get("DEBATE_HOME") or "~/.cache/debate").expanduser()


def default_demo_dir() -> Path:
    return debate_home() / "demo-model"


def demo_model_ready(path: str | Path) -> bool:
    """True when ``path`` holds a finished demo model for this version's task (the build info is written last)."""
    info = Path(path).expanduser() / BUILD_INFO_FILE
    try:
        return json.loads(info.read_text(encoding="utf-8")).get("task") == TASK
    except (OSError, ValueError):
        return False


@dataclass(frozen=True)
class DemoConfig:
    """What to train: data, model size and schedule. The defaults take under 3 minutes on 2 CPU cores.

    Two stages, from scratch:

    1. **Solving and revising**, on ``turns`` turns of ``arithmetic_rcr``'s
       debaters, one problem of the ``build`` split each, in their own
       prompts (``training_conversations``):

       - *solving*: round 0, the question alone, answered with the worked
         solution in the debater's method (each debater has one:
         ``debate.arithmetic.METHOD_PROMPTS``); the methods are drawn with
         ``method_weights`` (in ``METHOD_PROMPTS``' order: "changes first" is
         the hardest to learn, so it gets more turns, and the three end up
         about as good);
       - *revising*, a ``revision_share`` of the turns: a later round, the
         debater's own first answer and its peers' in view, each right with
         probability ``p`` (one of ``hint_accuracies`` per turn) and else off
         by one of a small model's slips; the target is the correct solution
         in the debater's method, whoever was right.

       The learning rate warms up and decays (cosine) over ``epochs`` passes
       in batches of ``batch_size``, with Muon for the matrices inside the
       layers at ``muon_learning_rate`` and AdamW at ``learning_rate`` for
       the rest (``muon_learning_rate=None``: AdamW for every weight, the
       transition in more than twice the steps; docs/testbed.md, x22).
       Training stops once the model writes
       ``stop_when_solved`` of held-out worked solutions exactly (round 0,
       each method equally, every token the model's first choice given the
       ones before, as greedy decoding writes them; checked every
       ``check_every`` steps on ``CHECK_PROBLEMS`` unseen problems, the same
       whatever ``own_debates`` is), or
       after ``steps`` steps (``None``: at the end of the schedule),
       whichever comes first. 20% is early on the transition: with seed 0
       the model then answers about a third of the problems right alone
       (docs/testbed.md, x24).
    2. **Revising its own debates**: the stage-1 model debates ``own_debates``
       unseen problems (round 0, greedy, as ``arithmetic_rcr`` does); every
       round-1 prompt of a debate that did not agree at once becomes a turn
       answered with the correct solution in the debater's method
       (``own_debate_turns``), trained in one pass at
       ``revision_learning_rate``, with AdamW. Its hints are the model's
       real answers: the disagreements it will meet. With
       ``keep_first_answers``, every round-0 answer of those debates is
       trained on too, as the model wrote it, right or wrong: the revisions
       alone would also make the first answers better and leave the debate
       little to repair (x22), and turns of stage 1's kind, with correct
       answers, do the same (x19); held where stage 1 left them, the first
       answers stay weak while the revisions learn (x24), so the debate has
       something to repair. 0 skips the stage.

    This model learns in a sudden transition, so where stage 1 stops decides
    how good it is (docs/testbed.md): the defaults leave it partly competent,
    where debate and DTE have room to help. Where the transition falls moves
    with the seed (the defaults stop seeds 0 and 1 after 1,000 steps, seed 2
    after 1,100) and with the order of floating-point sums (a CPU of another
    kind), so the stop is a level of skill, not a step count. The same seed
    on the same machine type builds the same weights however fast it is.
    """

    turns: int = 64_000
    revision_share: float = 0.4
    hint_accuracies: tuple[float, ...] = (0.2, 0.4, 0.6, 0.8)
    method_weights: tuple[float, ...] = (0.2, 0.2, 0.6)
    epochs: float = 1.0
    steps: int | None = None
    stop_when_solved: float | None = 0.2
    check_every: int = 100
    own_debates: int = 1_000
    revision_learning_rate: float = 1e-3
    keep_first_answers: bool = True
    batch_size: int = 16
    learning_rate: float = 3e-3
    muon_learning_rate: float | None = 1.5e-3
    warmup_steps: int = 30
    weight_decay: float = 0.1
    vocab_size: int = 512
    hidden_size: int = 128
    layers: int = 3
    heads: int = 4
    max_positions: int = 512
    device: str = "auto"
    seed: int = 0

    def __post_init__(self) -> None:
        for name in (
            "turns",
            "check_every",
            "batch_size",
            "vocab_size",
            "hidden_size",
            "layers",
            "heads",
            "max_positions",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.steps is not None and self.steps < 1:
            raise ValueError(f"steps must be at least 1 (or None for the whole schedule), got {self.steps}")
        if self.hidden_size % self.heads:
            raise ValueError(f"hidden_size ({self.hidden_size}) must be a multiple of heads ({self.heads})")
        if self.own_debates < 0:
            raise ValueError(f"own_debates must be 0 or more, got {self.own_debates}")
        for name in ("epochs", "learning_rate", "revision_learning_rate"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.muon_learning_rate is not None and self.muon_learning_rate <= 0:
            raise ValueError(
                f"muon_learning_rate must be > 0 (or None for AdamW alone), got {self.muon_learning_rate}"
            )
        if self.stop_when_solved is not None and not 0.0 <= self.stop_when_solved <= 1.0:
            raise ValueError(f"stop_when_solved must be a share (or None), got {self.stop_when_solved}")
        if not 0.0 <= self.revision_share <= 1.0:
            raise ValueError(f"revision_share must be a probability, got {self.revision_share}")
        if not self.hint_accuracies or not all(0.0 <= p <= 1.0 for p in self.hint_accuracies):
            raise ValueError(
                f"hint_accuracies must be probabilities, at least one, got {self.hint_accuracies}"
            )
        if (
            len(self.method_weights) != len(METHOD_PROMPTS)
            or min(self.method_weights) < 0
            or not any(self.method_weights)
        ):
            raise ValueError(
                f"method_weights must be {len(METHOD_PROMPTS)} weights, one per method "
                f"({', '.join(METHOD_PROMPTS)}), not all 0; got {self.method_weights}"
            )


@dataclass(frozen=True)
class DemoBuild:
    """What ``build_demo_model`` made."""

    path: Path
    parameters: int
    solving_turns: int
    """Stage 1's turns trained on (those drawn for the rest of its schedule, after ``steps``, are not)."""
    revision_turns: int
    """Stage 1's, with hints drawn at random, trained on."""
    own_revision_turns: int
    """Stage 2's, on the model's own debates."""
    own_first_answers: int
    """Stage 2's round-0 turns of those debates, trained on as the model wrote them (``keep_first_answers``)."""
    stage_one_steps: int
    solved: float | None
    """The share of held-out solutions the stage-1 model wrote exactly at its last check (None: none made)."""
    steps: int
    seconds: float
    final_loss: float


def training_conversations(
    items: Sequence[Problem],
    config: DemoConfig = DemoConfig(),  # noqa: B008 - frozen
) -> list[Conversation]:
    """One training turn per problem, in the very prompts ``arithmetic_rcr``'s debaters read (see ``DemoConfig``).

    Each problem goes to one debater, the one whose method was drawn
    (``method_weights``), and is rendered from that debater's templates in the
    scenario: round 0, or, with probability ``revision_share``, a later round
    whose answers in view (its own first, its peers') are each right with the
    turn's probability from ``hint_accuracies``, else slipped. The answer is
    always the correct solution in the debater's method: following the
    majority is not what is rewarded, and neither is keeping one's own answer.
    """
    return [conversation for conversation, _ in _training_turns(items, config)]


def _training_turns(items: Sequence[Problem], config: DemoConfig) -> Iterator[tuple[Conversation, bool]]:
    """``training_conversations``, each with whether it is a revision turn."""
    from debate.agents.prompting import render
    from debate.graph import agent_templates
    from debate.loading import load_scenario

    scenario = load_scenario("arithmetic_rcr")
    debaters = []
    for debater in scenario.debaters:
        templates = agent_templates(scenario, debater)
        debaters.append((debater.name, templates, _METHOD_OF_PROMPT[templates["debater.system"]]))
    if [method for _, _, method in debaters] != list(METHOD_PROMPTS):
        raise ValueError("arithmetic_rcr must have one debater per method, in METHOD_PROMPTS' order")
    rng = random.Random(config.seed)
    for problem in items:
        name, templates, method = debaters[
            rng.choices(range(len(debaters)), weights=config.method_weights)[0]
        ]
        values = {
            "question": problem.question,
            "context": "",
            "answer_instruction": "",
            "agent": name,
            "round": 0,
        }
        revision = rng.random() < config.revision_share
        if revision:
            right = rng.choice(config.hint_accuracies)
            peers = "\n".join(
                render(templates, "debater.peer", **values, author=peer, answer=_hint(problem, right, rng))
                for peer, _, _ in debaters
                if peer != name
            )
            own = _hint(problem, right, rng)
            user = render(
                templates, "debater.later_round", **values | {"round": 1}, peers=peers, own_answer=own
            )
        else:
            user = render(templates, "debater.first_round", **values)
        system = render(templates, "debater.system", **values)
        yield (
            [
                {"role": "system", "content": system},
                {"role": "user", "content": user},
                {"role": "assistant", "content": method_solution(problem, method)},
            ],
            revision,
        )


def _hint(problem: Problem, right: float, rng: random.Random) -> str:
    """An answer a debater showed: right with probability ``right``, else off by a small model's slip."""
    if rng.random() < right:
        return str(problem.answer)
    while (slipped := problem.answer + rng.choice(SLIPS)) < 0:
        pass
    return str(slipped)


@dataclass(frozen=True)
class OwnDebateTurns:
    """What ``own_debate_turns`` made of the model's own debates."""

    revisions: list[Conversation]
    """Every round-1 prompt of a debate that did not agree at once, answered with the correct solution."""
    first_answers: list[Conversation]
    """Every round-0 prompt, answered as the model answered it, right or wrong."""


def own_debate_turns(
    model: str | Path | Backend,
    items: Sequence[Problem],
    *,
    seed: int = 0,
    device: str = "cpu",
    max_batch_size: int = 512,
) -> OwnDebateTurns:
    """The turns of the model's own debates: its revisions to learn, its first answers as it wrote them.

    ``model`` (a model directory, a backend URI or a backend) answers round 0
    of ``arithmetic_rcr`` on every problem, as in a debate. Where its three
    answers disagree the debate goes on, and every round-1 prompt (its own
    real answer and its peers') becomes a conversation answered with the
    correct solution in that debater's method. Stage 1's hints are drawn at
    random; these are the disagreements the model will actually meet
    (docs/testbed.md, x17). Every round-0 answer comes back too, as the
    model wrote it: trained on, it holds the first answers where they are
    while the revisions learn (x24).
    """
    from debate.agents.backends import resolve_backend
    from debate.loading import load_scenario
    from debate.runner.seeding import with_seed
    from debate.train.evaluate import model_backend

    scenario = with_seed(load_scenario("arithmetic_rcr").model_copy(update={"rounds": 2}), seed)
    by_debate = {f"own-{index}": problem for index, problem in enumerate(items)}
    backend = _FirstAnswersFrom(
        resolve_backend(model_backend(model, device, max_batch_size)),
        {key: problem.solution for key, problem in by_debate.items()},
    )
    _debate_all(scenario, backend, by_debate)
    revisions = []
    for request in backend.revisions:
        chat = request.chat()
        solution = method_solution(by_debate[request.debate_id], _METHOD_OF_PROMPT[chat[0]["content"]])
        revisions.append([*chat, {"role": "assistant", "content": solution}])
    return OwnDebateTurns(revisions, backend.first_answers)


def _debate_all(scenario: Scenario, backend: Backend, by_debate: dict[str, Problem]) -> None:
    """Every problem of ``by_debate`` debated at once through ``scenario`` on ``backend``."""
    from debate import compile_debate
    from debate.run import arun_debate

    graph = compile_debate(scenario, backend)

    async def debate_all() -> None:
        await asyncio.gather(
            *(
                arun_debate(scenario, problem.question, graph=graph, debate_id=key)
                for key, problem in by_debate.items()
            )
        )

    with relaxed_gc():
        asyncio.run(debate_all())


class _FirstAnswersFrom:
    """Round 0 from the model, kept as conversations; later rounds answered with the correct solution, requests kept."""

    name = "first-answers"

    def __init__(self, model: Backend, solutions: dict[str, str]) -> None:
        self.model = model
        self.solutions = solutions
        self.first_answers: list[Conversation] = []
        self.revisions: list[ChatRequest] = []

    async def generate(self, requests: Sequence[ChatRequest]) -> list[ChatResponse]:
        first = [request for request in requests if request.round == 0]
        responses = await self.model.generate(first) if first else []
        self.first_answers.extend(
            [*request.chat(), {"role": "assistant", "content": response.text}]
            for request, response in zip(first, responses, strict=True)
        )
        self.revisions.extend(request for request in requests if request.round > 0)
        answered = iter(responses)
        return [
            next(answered) if request.round == 0 else ChatResponse(text=self.solutions[request.debate_id])
            for request in requests
        ]


def build_demo_model(
    out_dir: str | Path | None = None,
    config: DemoConfig = DemoConfig(),  # noqa: B008 - frozen, so sharing the default is safe
    *,
    progress: ProgressMode | bool = True,
) -> DemoBuild:
    """Train the demo model with ``config`` and save it to ``out_dir`` (default: ``default_demo_dir()``).

    ``progress``: bars on a terminal, a line every half minute otherwise (``True``, ``"auto"``), or one of
    ``"bar"``, ``"log"``, ``"off"`` (``False``).
    """
    from jinja2 import Template

    from debate.agents.backends.transformers import resolve_device

    progress = resolve_mode(progress)
    if progress != "bar":
        quiet_library_bars()

    started = time.perf_counter()
    out = Path(out_dir).expanduser() if out_dir is not None else default_demo_dir()
    # hundreds of thousands of lists that all live on: the collector's passes over them would find nothing
    # and cost seconds (docs/testbed.md, x21)
    with relaxed_gc():
        turn_problems, own_problems, check_problems = _build_problems(config)
        turns = list(_training_turns(turn_problems, config))
        conversations = [conversation for conversation, _ in turns]
        chat = Template(CHAT_TEMPLATE)
        tokenizer = train_tokenizer(
            (chat.render(messages=c) for c in conversations[:3000]), vocab_size=config.vocab_size, digits=True
        )
        model = init_model(
            tokenizer,
            hidden_size=config.hidden_size,
            layers=config.layers,
            heads=config.heads,
            max_positions=config.max_positions,
            seed=config.seed,
        )
        device = resolve_device(config.device)
        examples = _tokenize(tokenizer, conversations)
        batches = _length_bucketed_batches(examples, config)
        check: list[_Example] = []
        if config.stop_when_solved is not None:
            each_method = replace(config, revision_share=0.0, method_weights=(1.0,) * len(METHOD_PROMPTS))
            check = _tokenize(tokenizer, training_conversations(check_problems, each_method))
    solved: list[float] = []

    def learned_enough(step: int) -> bool:
        if config.stop_when_solved is None or step % config.check_every:
            return False
        solved.append(_solved_share(model, check, tokenizer.pad_token_id, device))
        if solved[-1] < config.stop_when_solved:
            return False
        if progress == "log":
            _log(f"stage 1 stops at step {step}: it writes {solved[-1]:.1%} of held-out solutions exactly")
        return True

    losses = _train(
        model.to(device),
        batches,
        tokenizer.pad_token_id,
        config,
        device,
        progress,
        "training the demo model",
        stop_after=config.steps,
        stop_when=learned_enough,
    )
    stage_one_steps = len(losses)
    is_revision = {id(example): revision for example, (_, revision) in zip(examples, turns, strict=True)}
    trained = [is_revision[id(example)] for batch in batches[:stage_one_steps] for example in batch]
    save_model(model.to("cpu"), tokenizer, out)
    own = OwnDebateTurns(revisions=[], first_answers=[])
    if config.own_debates:
        # stage 2: the model just saved debates unseen problems, then learns to revise what it got wrong
        if progress == "log":
            _log(f"learning to revise: the model debates {config.own_debates:,} problems")
        own = own_debate_turns(out, own_problems, seed=config.seed, device=device)
        if not config.keep_first_answers:
            own = replace(own, first_answers=[])
        # none when the model agreed with itself on every problem and no first answers are kept: no steps
        stage_two = replace(
            config, learning_rate=config.revision_learning_rate, muon_learning_rate=None, warmup_steps=10
        )
        batches = _length_bucketed_batches(_tokenize(tokenizer, own.revisions + own.first_answers), stage_two)
        losses += _train(
            model.to(device),
            batches,
            tokenizer.pad_token_id,
            stage_two,
            device,
            progress,
            "learning to revise",
        )
        save_model(model.to("cpu"), tokenizer, out)
    build = DemoBuild(
        path=out,
        parameters=sum(parameter.numel() for parameter in model.parameters()),
        solving_turns=trained.count(False),
        revision_turns=trained.count(True),
        own_revision_turns=len(own.revisions),
        own_first_answers=len(own.first_answers),
        stage_one_steps=stage_one_steps,
        solved=solved[-1] if solved else None,
        steps=len(losses),
        seconds=time.perf_counter() - started,
        final_loss=_recent_mean(losses),
    )
    info = {
        "task": TASK,
        "config": asdict(config),
        **{key: value for key, value in asdict(build).items() if key != "path"},
    }
    (out / BUILD_INFO_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return build


def _build_problems(config: DemoConfig) -> tuple[list[Problem], list[Problem], list[Problem]]:
    """The ``build`` problems of stage 1's turns, of the second stage's debates and of stage 1's check.

    The turns come first and are never checked on; the check's problems stay where ``CHECK_AFTER_TURNS`` puts
    them whatever ``own_debates`` is.
    """
    check_start = config.turns + CHECK_AFTER_TURNS
    limit = max(check_start + CHECK_PROBLEMS, config.turns + config.own_debates)
    build_split = list(problems("build", limit=limit))
    return (
        build_split[: config.turns],
        build_split[config.turns : config.turns + config.own_debates],
        build_split[check_start : check_start + CHECK_PROBLEMS],
    )


# -- training helpers -----------------------------------------------------------------


def _train(
    model: Any,
    batches: Sequence[Sequence[_Example]],
    pad_token_id: int,
    config: DemoConfig,
    device: str,
    progress: ProgressMode,
    description: str,
    *,
    stop_after: int | None = None,
    stop_when: Callable[[int], bool] | None = None,
) -> list[float]:
    """``_optimizers`` with warmup and cosine decay over ``batches``; returns the losses.

    Stops after ``stop_after`` of them, or earlier when ``stop_when`` (called with the steps done) says so.
    """
    import torch
    from tqdm.auto import tqdm

    logged = time.monotonic()

    if device == "cpu":
        # at these shapes PyTorch's fused CPU attention (its backward above all) is slower than plain
        # matmuls (docs/testbed.md, x18); a saved model loads with the library's default again
        model.set_attn_implementation("eager")
    model.train()
    optimizers = _optimizers(model, config)
    schedules = [
        torch.optim.lr_scheduler.LambdaLR(optimizer, _warmup_cosine(len(batches), config.warmup_steps))
        for optimizer in optimizers
    ]
    autocast = _bf16_autocast(device)
    steps = len(batches) if stop_after is None else min(stop_after, len(batches))
    losses: list[float] = []
    with tqdm(total=steps, desc=description, unit="step", disable=progress != "bar") as bar:
        for batch in batches[:steps]:
            input_ids, labels, attention_mask = (
                tensor.to(device) for tensor in _collate(batch, pad_token_id)
            )
            with autocast:
                loss = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            for optimizer, schedule in zip(optimizers, schedules, strict=True):
                optimizer.step()
                schedule.step()
                optimizer.zero_grad(set_to_none=True)
            losses.append(loss.item())
            bar.update()
            bar.set_postfix(loss=f"{_recent_mean(losses):.3f}")
            if progress == "log" and (time.monotonic() - logged >= _LOG_EVERY_S or len(losses) == steps):
                logged = time.monotonic()
                _log(f"{description}: {len(losses)}/{steps} steps, loss {_recent_mean(losses):.3f}")
            if stop_when is not None and stop_when(len(losses)):
                # the bar ends full where training stopped, not part way through the schedule
                bar.total = len(losses)
                break
    model.eval()
    return losses


def _optimizers(model: Any, config: DemoConfig) -> list[Any]:
    """Muon for the layers' matrices and AdamW for the rest; AdamW alone without a ``muon_learning_rate``.

    Muon orthogonalises each matrix's update; this model then reaches its transition in less than half the
    steps, on every seed tried (docs/testbed.md, x22), which is what brings the build under 3 minutes. Its
    update is scaled to match AdamW's (``match_rms_adamw``), so the rates compare. The embedding (tied to
    the output layer) and the norms stay on AdamW, as Muon is made for hidden matrices.
    """
    import torch

    named = list(model.named_parameters())
    hidden = (
        set()
        if config.muon_learning_rate is None
        else {name for name, parameter in named if parameter.ndim == 2 and ".layers." in name}
    )
    optimizers = [
        torch.optim.AdamW(
            [parameter for name, parameter in named if name not in hidden],
            lr=config.learning_rate,
            weight_decay=config.weight_decay,
        )
    ]
    if hidden:
        optimizers.append(
            torch.optim.Muon(
                [parameter for name, parameter in named if name in hidden],
                lr=config.muon_learning_rate,
                weight_decay=config.weight_decay,
                adjust_lr_fn="match_rms_adamw",
            )
        )
    return optimizers


def _solved_share(model: Any, examples: Sequence[_Example], pad_token_id: int, device: str) -> float:
    """The share of ``examples`` whose every answer token is the model's first choice after the right ones before it.

    Those are the answers greedy decoding writes exactly, found in one forward pass instead of a generation
    (in bfloat16 where training runs in it: half the time of float32, the same shares on the default build's
    checkpoints but for one problem in 300 at 2,000 and 2,100 steps).
    """
    import torch

    model.eval()
    solved = 0
    with torch.inference_mode(), _bf16_autocast(device):
        for start in range(0, len(examples), 100):
            input_ids, labels, attention_mask = (
                tensor.to(device) for tensor in _collate(examples[start : start + 100], pad_token_id)
            )
            chosen = model(input_ids=input_ids, attention_mask=attention_mask).logits[:, :-1].argmax(-1)
            wanted = labels[:, 1:]
            solved += ((chosen == wanted) | (wanted == -100)).all(dim=1).sum().item()
    model.train()
    return solved / len(examples)


_LOG_EVERY_S = 30.0
"""How often a build without a terminal says how far it is."""


def _log(text: str) -> None:
    print(f"debate model build-demo: {text}", file=sys.stderr, flush=True)


def _recent_mean(losses: Sequence[float], window: int = 20) -> float:
    """The loss to report: single batches are noisy."""
    recent = losses[-window:]
    return sum(recent) / len(recent)


@dataclass(frozen=True)
class _Example:
    input_ids: list[int]
    labels: list[int]
    """-100 (ignored by the loss) on the prompt: the model learns to answer, not to ask."""


def _tokenize(tokenizer: Any, conversations: Sequence[Conversation]) -> list[_Example]:
    """Each conversation as prompt tokens (no loss) and answer tokens, in two batched calls of the fast tokenizer."""
    from jinja2 import Template

    # the template compiled once: ``apply_chat_template`` per conversation costs seconds over a build
    chat = Template(tokenizer.chat_template)
    prompts = [
        chat.render(messages=conversation[:-1], add_generation_prompt=True) for conversation in conversations
    ]
    # the end-of-turn token ends generation
    answers = [conversation[-1]["content"] + tokenizer.eos_token for conversation in conversations]
    # the Rust tokenizer's batch call without the offsets ``tokenizer(texts)`` also computes: faster
    encode = tokenizer.backend_tokenizer.encode_batch_fast
    prompt_ids = [encoding.ids for encoding in encode(prompts, add_special_tokens=False)]
    answer_ids = [encoding.ids for encoding in encode(answers, add_special_tokens=False)]
    return [
        _Example(prompt + answer, [-100] * len(prompt) + answer)
        for prompt, answer in zip(prompt_ids, answer_ids, strict=True)
    ]


def _length_bucketed_batches(examples: Sequence[_Example], config: DemoConfig) -> list[list[_Example]]:
    """Shuffled batches of similar lengths (little padding), ``epochs`` passes over ``examples``."""
    if not examples:
        return []
    rng = random.Random(config.seed)
    per_epoch = math.ceil(len(examples) / config.batch_size)
    wanted = max(1, round(per_epoch * config.epochs))
    batches: list[list[_Example]] = []
    while len(batches) < wanted:
        order = list(range(len(examples)))
        rng.shuffle(order)
        epoch: list[list[_Example]] = []
        chunk = config.batch_size * 32
        for start in range(0, len(order), chunk):
            bucket = sorted(order[start : start + chunk], key=lambda index: len(examples[index].input_ids))
            epoch.extend(
                [examples[index] for index in bucket[i : i + config.batch_size]]
                for i in range(0, len(bucket), config.batch_size)
            )
        rng.shuffle(epoch)
        batches.extend(epoch)
    return batches[:wanted]


_PAD_TO_MULTIPLE = 16
"""Few distinct batch shapes (oneDNN caches kernels per shape), yet little padding (docs/testbed.md, x18)."""


def _collate(batch: Sequence[_Example], pad_token_id: int) -> Iterator[Any]:
    import torch

    longest = max(len(example.input_ids) for example in batch)
    width = -(-longest // _PAD_TO_MULTIPLE) * _PAD_TO_MULTIPLE
    padding = [width - len(example.input_ids) for example in batch]
    yield torch.tensor([e.input_ids + [pad_token_id] * pad for e, pad in zip(batch, padding, strict=True)])
    yield torch.tensor([e.labels + [-100] * pad for e, pad in zip(batch, padding, strict=True)])
    yield torch.tensor([[1] * len(e.input_ids) + [0] * pad for e, pad in zip(batch, padding, strict=True)])


def _warmup_cosine(total_steps: int, warmup_steps: int):  # noqa: ANN202
    warmup = max(1, min(warmup_steps, total_steps // 2))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total_steps - warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return factor


def _bf16_autocast(device: str):  # noqa: ANN202 - a torch.autocast, torch imported lazily
    """bfloat16 autocast where the hardware runs it natively (weights stay float32 either way)."""
    import torch

    if device.startswith("cuda"):
        native = torch.cuda.is_bf16_supported()
    else:
        native = device == "cpu" and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    return torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=native)
