"""KTO on unpaired examples: the ``kto`` export (each debate response, desirable or not)."""

from __future__ import annotations

from debate.train.common import TrainReport, fit, load_data, require_training_extra, trl_arguments
from debate.train.config import KTOSettings


def train_kto(settings: KTOSettings) -> TrainReport:
    """Train ``settings.model`` with KTO on ``settings.data`` (``prompt``/``completion``/``label``)."""
    require_training_extra(settings)
    from trl import KTOConfig, KTOTrainer

    dataset = load_data(settings, "kto", [("prompt", "completion", "label")])
    args = trl_arguments(
        settings,
        KTOConfig,
        beta=settings.beta,
        desirable_weight=settings.desirable_weight,
        undesirable_weight=settings.undesirable_weight,
        max_length=settings.max_length,
    )
    return fit(KTOTrainer, settings, dataset, args)
