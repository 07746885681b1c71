"""DPO on preference pairs: the ``dpo`` export (what the debate settled on over what it overturned) or
the ``judge`` export (right verdicts over wrong ones)."""

from __future__ import annotations

from debate.train.common import (
    TrainReport,
    load_data,
    load_model,
    peft_config,
    require_training_extra,
    train_and_save,
    trl_arguments,
)
from debate.train.config import DPOSettings


def train_dpo(settings: DPOSettings) -> TrainReport:
    """Train ``settings.model`` with DPO on ``settings.data`` (``prompt``/``chosen``/``rejected``)."""
    require_training_extra(settings)
    from trl import DPOConfig, DPOTrainer

    dataset = load_data(settings, "dpo", [("prompt", "chosen", "rejected")])
    model, tokenizer = load_model(settings)
    args = trl_arguments(settings, DPOConfig, beta=settings.beta, max_length=settings.max_length)
    trainer = DPOTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft_config(settings),
    )
    return train_and_save(trainer, settings, len(dataset))
