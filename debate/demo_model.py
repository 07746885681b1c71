"""The embedded demo model: a small chat model trained here, in minutes, to solve and to debate the testbed task.

A fresh machine has no model and may have no network, yet a researcher should
see a real debate on a real model. ``debate model build-demo``
trains one on the CPU for the bundled arithmetic task (``debate.arithmetic``),
in the very prompts of the ``arithmetic_rcr`` and ``arithmetic_single``
scenarios, on two kinds of turns:

- **solving**: round 0, the question alone, answered with the worked solution;
- **revising**: later rounds of synthetic debates, run through the real
  ``rcr`` protocol with a scripted backend whose debaters are sometimes right
  and sometimes make one mistake (``flawed_solution``); the target is always
  the correct solution, whoever was right, so that following the majority is
  not what is rewarded.

The tokenizer keeps digits apart (one token per digit), so that numbers are
written digit by digit as in column arithmetic. What the model reaches, and
what debate does for it so far, is measured in docs/testbed.md. The result is a standard Hugging
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
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from debate.agents.backends.base import Backend, ChatRequest, ChatResponse
from debate.arithmetic import Problem, flawed_solution, problems
from debate.runner.progress import ProgressMode, quiet_library_bars, resolve_mode
from debate.tiny_model import CHAT_TEMPLATE, init_model, save_model, train_tokenizer

if TYPE_CHECKING:
    from debate.scenario import Scenario

BUILD_INFO_FILE = "debate_demo.json"
"""Written beside the weights: how the model was built and how training went."""

TASK = "arithmetic-v2"
"""What a demo model was taught, and by which recipe; a directory built otherwise is rebuilt, not reused."""

Conversation = list[dict[str, str]]


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
    """What to train: data, model size and schedule. The defaults take about 5 minutes on 2 CPU cores.

    Training has two stages:

    1. **Solving**: ``problems`` round-0 turns (one per problem of the
       ``build`` split), ``epochs`` passes in batches of ``batch_size``; the
       number of steps follows from the data, and nothing stops training
       early. ``debates`` adds later-round turns of synthetic debates in which
       scripted peers make one mistake with ``peer_error_rates[r]`` in round
       ``r`` (0 by default: stage 2 teaches revision better).
    2. **Revising its own answers**: the stage-1 model answers round 0 of
       ``own_debates`` unseen problems as a debate would; where its answers
       disagree, the round-1 prompts become revision turns answered with the
       correct solution (``own_revision_conversations``). They are trained
       together with as many solving turns again, one pass at
       ``revision_learning_rate``. 0 skips the stage.

    This model learns the task in a sudden transition, so the number of
    stage-1 steps decides how good it is (docs/testbed.md): the defaults leave
    it partly competent, which is where debate and DTE have room to help.
    """

    problems: int = 35_200
    debates: int = 0
    peer_error_rates: tuple[float, ...] = (0.5, 0.35, 0.25)
    epochs: float = 1.0
    own_debates: int = 1_000
    revision_learning_rate: float = 1e-3
    batch_size: int = 16
    learning_rate: float = 3e-3
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
            "problems",
            "batch_size",
            "vocab_size",
            "hidden_size",
            "layers",
            "heads",
            "max_positions",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("debates", "own_debates"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be 0 or more, got {getattr(self, name)}")
        if self.hidden_size % self.heads:
            raise ValueError(f"hidden_size ({self.hidden_size}) must be a multiple of heads ({self.heads})")
        for name in ("epochs", "learning_rate", "revision_learning_rate"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not self.peer_error_rates or not all(0.0 <= rate <= 1.0 for rate in self.peer_error_rates):
            raise ValueError(
                f"peer_error_rates must be probabilities, one per round, got {self.peer_error_rates}"
            )


@dataclass(frozen=True)
class DemoBuild:
    """What ``build_demo_model`` made."""

    path: Path
    parameters: int
    solving_turns: int
    revision_turns: int
    """From synthetic debates (``DemoConfig.debates``)."""
    own_revision_turns: int
    """From debates on the model's own first answers (stage 2)."""
    steps: int
    seconds: float
    final_loss: float


def solving_conversations(items: Sequence[Problem]) -> list[Conversation]:
    """Round 0 of ``arithmetic_rcr`` (and the whole of ``arithmetic_single``): the question, answered correctly."""
    from debate.export.prompts import PromptTemplates, solver_chat
    from debate.loading import load_scenario

    templates = PromptTemplates.of_scenario(load_scenario("arithmetic_single"))
    return [
        [
            *solver_chat(problem.question, templates=templates),
            {"role": "assistant", "content": problem.solution},
        ]
        for problem in items
    ]


def revision_conversations(
    items: Sequence[Problem], peer_error_rates: Sequence[float] = (0.5, 0.35, 0.25), *, seed: int = 0
) -> list[Conversation]:
    """Later-round turns of real ``arithmetic_rcr`` debates between scripted debaters, answered correctly.

    Each debate runs through the framework itself (the ``rcr`` protocol, the
    scenario's prompts and stop rule) with a scripted backend: a debater's
    solution has one mistake (``flawed_solution``) with the round's rate in
    ``peer_error_rates``, else it is right. Every later-round request becomes a
    conversation whose answer is the correct solution, whoever was right:
    peers are sometimes right and sometimes wrong, and so is the debater itself.
    """
    from debate import ScriptedBackend
    from debate.loading import load_scenario

    scenario = load_scenario("arithmetic_rcr")
    by_debate = {f"revision-{index}": problem for index, problem in enumerate(items)}

    def debater(request: Any) -> str:  # noqa: ANN401 - a ChatRequest
        problem = by_debate[request.debate_id]
        rng = random.Random(f"{seed}:{request.debate_id}:{request.agent}:{request.round}")
        rate = peer_error_rates[min(request.round, len(peer_error_rates) - 1)]
        return flawed_solution(problem, rng) if rng.random() < rate else problem.solution

    backend = ScriptedBackend(debater)
    _debate_all(scenario, backend, by_debate)
    return [
        [*request.chat(), {"role": "assistant", "content": by_debate[request.debate_id].solution}]
        for request in backend.completed
        if request.round > 0
    ]


def own_revision_conversations(
    model: str | Path | Backend,
    items: Sequence[Problem],
    *,
    seed: int = 0,
    device: str = "cpu",
    max_batch_size: int = 128,
    progress: bool = False,
) -> list[Conversation]:
    """Later-round turns built on the model's own first answers, each answered with the correct solution.

    ``model`` (a model directory, a backend URI or a backend) answers round 0 of ``arithmetic_rcr`` on every
    problem (three debaters, sampled as hot as in a debate). Where its answers
    disagree the debate goes on, and every round-1 prompt (its own real answer
    and its peers') becomes a conversation whose answer is the correct
    solution. Synthetic mistakes (``revision_conversations``) teach the
    format; these are the mistakes the model will actually meet in a debate,
    and learning to repair them is what makes its debates better than its
    votes (docs/testbed.md).
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
    _debate_all(scenario, backend, by_debate, progress="its own first answers" if progress else None)
    return [
        [*request.chat(), {"role": "assistant", "content": by_debate[request.debate_id].solution}]
        for request in backend.revisions
    ]


def _debate_all(
    scenario: Scenario,
    backend: Backend,
    by_debate: dict[str, Problem],
    progress: str | None = None,
) -> None:
    """Every problem of ``by_debate`` debated at once through ``scenario`` on ``backend``; ``progress`` names a bar."""
    from tqdm.auto import tqdm

    from debate import compile_debate, relaxed_gc
    from debate.run import arun_debate

    graph = compile_debate(scenario, backend)

    async def debate_all() -> None:
        with tqdm(total=len(by_debate), desc=progress, unit="debate", disable=progress is None) as bar:

            async def one(key: str, problem: Problem) -> None:
                await arun_debate(scenario, problem.question, graph=graph, debate_id=key)
                bar.update()

            await asyncio.gather(*(one(key, problem) for key, problem in by_debate.items()))

    with relaxed_gc():
        asyncio.run(debate_all())


class _FirstAnswersFrom:
    """Round 0 from the model; later rounds answered with the correct solution, their requests kept."""

    name = "first-answers"

    def __init__(self, model: Backend, solutions: dict[str, str]) -> None:
        self.model = model
        self.solutions = solutions
        self.revisions: list[ChatRequest] = []

    async def generate(self, requests: Sequence[ChatRequest]) -> list[ChatResponse]:
        first = [request for request in requests if request.round == 0]
        answered = iter(await self.model.generate(first) if first else [])
        self.revisions.extend(request for request in requests if request.round > 0)
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
    build_split = list(problems("build", limit=config.problems + config.debates + config.own_debates))
    solving_problems = build_split[: config.problems]
    synthetic_problems = build_split[config.problems : config.problems + config.debates]
    own_problems = build_split[config.problems + config.debates :]
    solving = solving_conversations(solving_problems)
    revision = revision_conversations(synthetic_problems, config.peer_error_rates, seed=config.seed)
    chat = Template(CHAT_TEMPLATE)
    sample = solving[:2000] + revision[:1000]
    tokenizer = train_tokenizer(
        (chat.render(messages=c) for c in sample), vocab_size=config.vocab_size, digits=True
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
    batches = _length_bucketed_batches(_tokenize(tokenizer, solving + revision), config)
    losses = _train(
        model.to(device), batches, tokenizer.pad_token_id, config, device, progress, "training the demo model"
    )
    save_model(model.to("cpu"), tokenizer, out)
    own: list[Conversation] = []
    if own_problems:
        # stage 2 samples from the stage-1 model just saved, then learns to repair what it got wrong
        if progress == "log":
            _log(f"learning to revise: the model answers round 0 of {len(own_problems):,} debates")
        own = own_revision_conversations(
            out, own_problems, seed=config.seed, device=device, progress=progress == "bar"
        )
    if own:
        stage_two = replace(config, learning_rate=config.revision_learning_rate, epochs=1.0, warmup_steps=10)
        batches = _length_bucketed_batches(_tokenize(tokenizer, own + solving[: len(own)]), stage_two)
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
        solving_turns=len(solving),
        revision_turns=len(revision),
        own_revision_turns=len(own),
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


# -- training helpers -----------------------------------------------------------------


def _train(
    model: Any,
    batches: Sequence[Sequence[_Example]],
    pad_token_id: int,
    config: DemoConfig,
    device: str,
    progress: ProgressMode,
    description: str,
) -> list[float]:
    """AdamW with warmup and cosine decay over ``batches``; returns the losses."""
    import torch
    from tqdm.auto import tqdm

    logged = time.monotonic()

    model.train()
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, _warmup_cosine(len(batches), config.warmup_steps))
    autocast = torch.autocast(
        device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=_fast_bf16(device)
    )
    losses: list[float] = []
    with tqdm(total=len(batches), desc=description, unit="step", disable=progress != "bar") as bar:
        for batch in batches:
            input_ids, labels, attention_mask = (
                tensor.to(device) for tensor in _collate(batch, pad_token_id)
            )
            with autocast:
                loss = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(loss.item())
            bar.update()
            bar.set_postfix(loss=f"{_recent_mean(losses):.3f}")
            if progress == "log" and (
                time.monotonic() - logged >= _LOG_EVERY_S or len(losses) == len(batches)
            ):
                logged = time.monotonic()
                _log(f"{description}: {len(losses)}/{len(batches)} steps, loss {_recent_mean(losses):.3f}")
    model.eval()
    return losses


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
    prompts = [
        tokenizer.apply_chat_template(conversation[:-1], tokenize=False, add_generation_prompt=True)
        for conversation in conversations
    ]
    # the end-of-turn token ends generation
    answers = [conversation[-1]["content"] + tokenizer.eos_token for conversation in conversations]
    prompt_ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(answers, add_special_tokens=False)["input_ids"]
    return [
        _Example(prompt + answer, [-100] * len(prompt) + answer)
        for prompt, answer in zip(prompt_ids, answer_ids, strict=True)
    ]


def _length_bucketed_batches(examples: Sequence[_Example], config: DemoConfig) -> list[list[_Example]]:
    """Shuffled batches of similar lengths (little padding), ``epochs`` passes over ``examples``."""
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


_PAD_TO_MULTIPLE = 32
"""Few distinct batch shapes: oneDNN caches kernels per shape, and every new length grows memory by megabytes."""


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


def _fast_bf16(device: str) -> bool:
    """bfloat16 autocast where the hardware runs it natively (weights stay float32 either way)."""
    import torch

    if device.startswith("cuda"):
        return torch.cuda.is_bf16_supported()
    return device == "cpu" and torch.ops.mkldnn._is_mkldnn_bf16_supported()
