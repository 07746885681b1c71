"""Training on debate data, wrapping TRL: GRPO (DTE), DPO, KTO and SFT; evaluation; the evolve loop;
the self-improving judge's sampling (``judge_run``).

::

    from debate.train import GRPOSettings, train, evaluate, evolve, EvolveSettings

    report = train(GRPOSettings(model="models/base", data="data/dte", out="models/round-1"))

Importing this package is cheap: trl, datasets, peft and torch are imported
only when a method runs, and a missing one raises ``MissingTrainingExtra``
saying to install ``debate[train]``.
"""

from __future__ import annotations

from collections.abc import Sequence

from debate.train.common import MissingTrainingExtra, TrainReport, read_train_report, require_training_extra
from debate.train.config import (
    METHODS,
    DPOSettings,
    GRPOSettings,
    KTOSettings,
    LoraSettings,
    RewardWeights,
    SFTSettings,
    TrainSettings,
    load_train_settings,
    settings_for,
)
from debate.train.evaluate import EvalReport, evaluate, read_eval, single_agent_scenario
from debate.train.evolve import EvolutionReport, EvolveSettings, JudgeEvolution, evolve
from debate.train.judging import JudgeAccuracy, JudgingReport, contested_verdict_accuracy, judge_run
from debate.train.rewards import RewardFunction, dte_rewards


def train(settings: TrainSettings, *, extra_rewards: Sequence[RewardFunction] = ()) -> TrainReport:
    """Train with the method of ``settings`` (its class); ``extra_rewards`` apply to GRPO only."""
    if isinstance(settings, GRPOSettings):
        from debate.train.grpo import train_grpo

        return train_grpo(settings, extra_rewards=extra_rewards)
    if extra_rewards:
        raise ValueError(f"extra_rewards: only GRPO takes reward functions, not {type(settings).__name__}")
    if isinstance(settings, DPOSettings):
        from debate.train.dpo import train_dpo

        return train_dpo(settings)
    if isinstance(settings, KTOSettings):
        from debate.train.kto import train_kto

        return train_kto(settings)
    if isinstance(settings, SFTSettings):
        from debate.train.sft import train_sft

        return train_sft(settings)
    raise ValueError(
        f"settings: expected GRPOSettings, DPOSettings, KTOSettings or SFTSettings, got {type(settings).__name__}"
    )


__all__ = [
    "METHODS",
    "DPOSettings",
    "EvalReport",
    "EvolutionReport",
    "EvolveSettings",
    "GRPOSettings",
    "JudgeAccuracy",
    "JudgeEvolution",
    "JudgingReport",
    "KTOSettings",
    "LoraSettings",
    "MissingTrainingExtra",
    "RewardFunction",
    "RewardWeights",
    "SFTSettings",
    "TrainReport",
    "TrainSettings",
    "dte_rewards",
    "evaluate",
    "evolve",
    "contested_verdict_accuracy",
    "judge_run",
    "load_train_settings",
    "read_eval",
    "read_train_report",
    "require_training_extra",
    "settings_for",
    "single_agent_scenario",
    "train",
]
