"""The demo build's training step, timed in the variants docs/testbed.md ("Build time") compares.

Every variant trains its own freshly initialised demo model on the same
batches of the default build's data, in turns of 40 steps (variant A 40
steps, B 40 steps, ... then A again), so that a machine whose speed drifts
slows them all alike; the first turn of each is warm-up and not counted.
Prints real (unpadded) tokens a second and the ratio to the first variant.

    python benchmarks/demo_build_step.py            # about 2 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, replace

import torch
from jinja2 import Template

import debate.demo_model as demo_model
from debate.arithmetic import problems
from debate.tiny_model import CHAT_TEMPLATE, init_model, train_tokenizer


@dataclass(frozen=True)
class Variant:
    name: str
    attention: str = "eager"
    pad_to: int = 16
    batch_size: int = 16
    bf16: bool = True


VARIANTS = [
    Variant("sdpa, padded to 32 (the build until x17)", attention="sdpa", pad_to=32),
    Variant("eager, padded to 16 (the build now)"),
    Variant("eager, padded to 8", pad_to=8),
    Variant("eager, float32", bf16=False),
    Variant("eager, batches of 32", batch_size=32),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=6, help="timed turns of 40 steps (of 16) per variant")
    args = parser.parse_args()

    config = demo_model.DemoConfig()
    conversations = demo_model.training_conversations(list(problems("build", limit=16_000)), config)
    tokenizer = train_tokenizer(
        (Template(CHAT_TEMPLATE).render(messages=c) for c in conversations[:3000]),
        vocab_size=config.vocab_size,
        digits=True,
    )
    examples = demo_model._tokenize(tokenizer, conversations)
    needed = (args.turns + 1) * 40
    if len(examples) // 16 < needed:
        raise SystemExit(
            f"--turns {args.turns}: needs {needed} batches of 16, the data has {len(examples) // 16}"
        )

    runs = []
    for variant in VARIANTS:
        model = init_model(tokenizer, hidden_size=128, layers=3, heads=4, max_positions=512, seed=0)
        model.set_attn_implementation(variant.attention)
        batches = demo_model._length_bucketed_batches(
            examples, replace(config, batch_size=variant.batch_size)
        )
        runs.append((variant, model, torch.optim.AdamW(model.parameters(), lr=1e-3), batches))

    seconds = [0.0] * len(runs)
    tokens = [0] * len(runs)
    for turn in range(args.turns + 1):
        for index, (variant, model, optimizer, batches) in enumerate(runs):
            per_turn = 40 * 16 // variant.batch_size
            chunk = batches[turn * per_turn : (turn + 1) * per_turn]
            demo_model._PAD_TO_MULTIPLE = variant.pad_to
            autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=variant.bf16)
            started = time.perf_counter()
            for batch in chunk:
                input_ids, labels, attention_mask = demo_model._collate(batch, tokenizer.pad_token_id)
                with autocast:
                    loss = model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                loss.item()
            if turn:
                seconds[index] += time.perf_counter() - started
                tokens[index] += sum(len(example.input_ids) for batch in chunk for example in batch)

    base = tokens[0] / seconds[0]
    for (variant, *_), spent, counted in zip(runs, seconds, tokens, strict=True):
        rate = counted / spent
        print(f"{variant.name:45} {rate:8,.0f} tokens/s  {rate / base:.2f}x")


if __name__ == "__main__":
    main()
