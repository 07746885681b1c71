"""GRPO on DTE data: the model samples answers to each question and is rewarded for agreeing with the
debate's consensus (the row's ``answer``), plus DTE's format rewards (``debate.train.rewards``).

This is DTE's training objective: no gold answer, only what the debate
converged on. Each question is used once however many traces the export
kept for it (GRPO samples its own completions; the traces are for SFT).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from debate.train.common import TrainReport, fit, load_data, require_training_extra, trl_arguments
from debate.train.config import GRPOSettings
from debate.train.rewards import RewardFunction, dte_rewards


def unique_prompts(dataset: Any) -> Any:  # noqa: ANN401 - datasets.Dataset
    """The first row of each distinct prompt (an index selection: nothing is copied or cached)."""
    seen: set[str] = set()
    keep = []
    for index, prompt in enumerate(dataset["prompt"]):
        key = json.dumps(prompt, sort_keys=True)
        if key not in seen:
            seen.add(key)
            keep.append(index)
    return dataset.select(keep)


def train_grpo(settings: GRPOSettings, *, extra_rewards: Sequence[RewardFunction] = ()) -> TrainReport:
    """Train ``settings.model`` with GRPO on ``settings.data`` (a ``dte`` export).

    ``extra_rewards`` are further TRL reward functions (weight 1 each), added to DTE's set.
    """
    require_training_extra(settings)
    from trl import GRPOConfig, GRPOTrainer

    dataset = unique_prompts(load_data(settings, "grpo", [("prompt", "answer")]))
    functions, weights = dte_rewards(settings.rewards, settings.answer)
    args = trl_arguments(
        settings,
        GRPOConfig,
        num_generations=settings.num_generations,
        max_completion_length=settings.max_completion_length,
        temperature=settings.temperature,
        top_p=settings.top_p,
        top_k=settings.top_k,
        beta=settings.beta,
        epsilon=settings.epsilon,
        reward_weights=[*weights, *(1.0 for _ in extra_rewards)],
    )
    return fit(GRPOTrainer, settings, dataset, args, reward_funcs=[*functions, *extra_rewards])
