"""KTO on unpaired examples: the ``kto`` export (each debate response, desirable or not)."""

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
from debate.train.config import KTOSettings


def train_kto(settings: KTOSettings) -> TrainReport:
    """Train ``settings.model`` with KTO on ``settings.data`` (``prompt``/``completion``/``label``)."""
    require_training_extra(settings)
    from trl import KTOConfig, KTOTrainer

    dataset = load_data(settings, "kto", [("prompt", "completion", "label")])
    model, tokenizer = load_model(settings)
    args = trl_arguments(
        settings,
        KTOConfig,
        beta=settings.beta,
        desirable_weight=settings.desirable_weight,
        undesirable_weight=settings.undesirable_weight,
        max_length=settings.max_length,
    )
    trainer = KTOTrainer(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft_config(settings),
    )
    return train_and_save(trainer, settings, len(dataset))
