"""The embedded demo model: a few-million-parameter chat model trained here, in minutes, on bundled data.

A fresh machine has no model and may have no network, yet the quickstart
should run a real debate on a real model. So ``debate model build-demo``
trains one on the CPU: a byte-level BPE tokenizer and a small Llama model
(``debate.tiny_model``), taught on the bundled GSM8K train split formatted
exactly as the framework prompts a debater in round 0 (the ``rcr`` templates
``debater.system`` and ``debater.first_round``). It learns the shape of the
task (reasoning, then ``#### <number>``), not arithmetic: expect varied,
mostly wrong answers that parse. The result is a standard Hugging Face model
directory that ``TransformersBackend`` (``hf:DIR``), vLLM and TRL load.

It lands in ``$DEBATE_HOME/demo-model`` (``DEBATE_HOME`` defaults to
``~/.cache/debate``) unless told otherwise.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from debate.agents.prompting import load_templates, render
from debate.answers import NumberAnswer
from debate.datasets import bundled_path
from debate.tiny_model import CHAT_TEMPLATE, init_model, save_model, train_tokenizer

BUILD_INFO_FILE = "debate_demo.json"
"""Written beside the weights: how the model was built and how training went."""

_CALCULATOR_NOTE = re.compile(r"<<[^>]*>>")

Conversation = list[dict[str, str]]


def debate_home() -> Path:
    """Where the framework keeps what it builds: ``$DEBATE_HOME``, else ``~/.cache/debate``."""
    return Path(os.environ.get("DEBATE_HOME") or "~/.cache/debate").expanduser()


def default_demo_dir() -> Path:
    return debate_home() / "demo-model"


@dataclass(frozen=True)
class DemoConfig:
    """What to train: data, model size and schedule. The defaults take about 5 minutes on 2 CPU cores.

    ``examples`` limits the training conversations (``None``: all 7,473);
    ``steps`` overrides ``epochs``. ``max_minutes`` is a safety net for slow
    machines: training stops there and saves what it has (the result says so).
    """

    examples: int | None = None
    epochs: float = 1.0
    steps: int | None = None
    batch_size: int = 16
    learning_rate: float = 2e-3
    warmup_fraction: float = 0.05
    weight_decay: float = 0.1
    vocab_size: int = 4096
    hidden_size: int = 256
    layers: int = 4
    heads: int = 4
    max_positions: int = 2048
    max_minutes: float | None = 9.0
    device: str = "auto"
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("batch_size", "vocab_size", "hidden_size", "layers", "heads", "max_positions"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.hidden_size % self.heads:
            raise ValueError(f"hidden_size ({self.hidden_size}) must be a multiple of heads ({self.heads})")
        if self.examples is not None and self.examples < 1:
            raise ValueError(f"examples must be at least 1 (or None for all), got {self.examples}")
        if self.steps is not None and self.steps < 1:
            raise ValueError(f"steps must be at least 1 (or None to train for `epochs`), got {self.steps}")
        if self.epochs <= 0:
            raise ValueError(f"epochs must be > 0, got {self.epochs}")


@dataclass(frozen=True)
class DemoBuild:
    """What ``build_demo_model`` made."""

    path: Path
    parameters: int
    examples: int
    steps: int
    planned_steps: int
    seconds: float
    final_loss: float

    @property
    def stopped_early(self) -> bool:
        """True when ``max_minutes`` cut training short."""
        return self.steps < self.planned_steps


def round_zero_conversation(question: str, solution: str) -> Conversation:
    """``question`` as a debater sees it in round 0 of an ``rcr`` debate, answered with ``solution``.

    GSM8K's ``<<48/2=24>>`` calculator notes are dropped: debaters never write them.
    """
    templates = load_templates("rcr")
    values = {"question": question, "context": "", "answer_instruction": NumberAnswer.instruction}
    return [
        {"role": "system", "content": render(templates, "debater.system", **values)},
        {"role": "user", "content": render(templates, "debater.first_round", **values)},
        {"role": "assistant", "content": _CALCULATOR_NOTE.sub("", solution).strip()},
    ]


def demo_conversations(path: str | Path | None = None, *, limit: int | None = None) -> list[Conversation]:
    """The training set: GSM8K train (bundled unless ``path``) as round-0 debater conversations."""
    source = Path(path) if path is not None else bundled_path("gsm8k", "train.jsonl")
    conversations = []
    with open(source, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                conversations.append(round_zero_conversation(row["question"], row["answer"]))
                if limit is not None and len(conversations) >= limit:
                    break
    return conversations


def build_demo_model(
    out_dir: str | Path | None = None,
    config: DemoConfig = DemoConfig(),  # noqa: B008 - frozen, so sharing the default is safe
    *,
    progress: bool = True,
) -> DemoBuild:
    """Train the demo model with ``config`` and save it to ``out_dir`` (default: ``default_demo_dir()``)."""
    from jinja2 import Template

    from debate.agents.backends.transformers import resolve_device

    started = time.perf_counter()
    out = Path(out_dir).expanduser() if out_dir is not None else default_demo_dir()
    conversations = demo_conversations(limit=config.examples)
    chat = Template(CHAT_TEMPLATE)
    tokenizer = train_tokenizer(
        (chat.render(messages=c) for c in conversations), vocab_size=config.vocab_size
    )
    examples = [_tokenize(tokenizer, conversation) for conversation in conversations]
    model = init_model(
        tokenizer,
        hidden_size=config.hidden_size,
        layers=config.layers,
        heads=config.heads,
        max_positions=config.max_positions,
        seed=config.seed,
    )
    device = resolve_device(config.device)
    batches = _length_bucketed_batches(examples, config)
    deadline = started + config.max_minutes * 60 if config.max_minutes else math.inf
    losses = _train(model.to(device), batches, tokenizer.pad_token_id, config, device, deadline, progress)
    save_model(model.to("cpu"), tokenizer, out)
    build = DemoBuild(
        path=out,
        parameters=sum(parameter.numel() for parameter in model.parameters()),
        examples=len(examples),
        steps=len(losses),
        planned_steps=len(batches),
        seconds=time.perf_counter() - started,
        final_loss=_recent_mean(losses),
    )
    info = {"config": asdict(config), **{key: value for key, value in asdict(build).items() if key != "path"}}
    (out / BUILD_INFO_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return build


# -- training helpers -----------------------------------------------------------------


def _train(
    model: Any,
    batches: Sequence[Sequence[_Example]],
    pad_token_id: int,
    config: DemoConfig,
    device: str,
    deadline: float,
    progress: bool,
) -> list[float]:
    """AdamW with warmup and cosine decay over ``batches``, until done or ``deadline``; returns the losses."""
    import torch
    from tqdm.auto import tqdm

    model.train()
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _warmup_cosine(len(batches), config.warmup_fraction)
    )
    autocast = torch.autocast(
        device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=_fast_bf16(device)
    )
    losses: list[float] = []
    with tqdm(total=len(batches), desc="training the demo model", unit="step", disable=not progress) as bar:
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
            if time.perf_counter() > deadline:
                break
    model.eval()
    return losses


def _recent_mean(losses: Sequence[float], window: int = 20) -> float:
    """The loss to report: single batches are noisy."""
    recent = losses[-window:]
    return sum(recent) / len(recent)


@dataclass(frozen=True)
class _Example:
    input_ids: list[int]
    labels: list[int]
    """-100 (ignored by the loss) on the prompt: the model learns to answer, not to ask."""


def _tokenize(tokenizer: Any, conversation: Conversation) -> _Example:
    prompt = tokenizer.apply_chat_template(conversation[:-1], tokenize=False, add_generation_prompt=True)
    answer = conversation[-1]["content"] + tokenizer.eos_token  # the end-of-turn token ends generation
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(answer, add_special_tokens=False)["input_ids"]
    return _Example(prompt_ids + answer_ids, [-100] * len(prompt_ids) + answer_ids)


def _length_bucketed_batches(examples: Sequence[_Example], config: DemoConfig) -> list[list[_Example]]:
    """Shuffled batches of similar lengths (little padding), for ``steps`` or ``epochs`` worth of steps."""
    rng = random.Random(config.seed)
    per_epoch = math.ceil(len(examples) / config.batch_size)
    wanted = config.steps if config.steps is not None else max(1, round(per_epoch * config.epochs))
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


def _warmup_cosine(total_steps: int, warmup_fraction: float):  # noqa: ANN202
    warmup = max(1, round(total_steps * warmup_fraction))

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
