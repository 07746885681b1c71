"""DPO on preference pairs: the ``dpo`` export (what the debate settled on over what it overturned), the
``judge`` export (right verdicts over wrong ones), ``step_dpo`` (a right next step over the first wrong
one, after the same prefix) or ``pbt`` (accepting right and resisting wrong persuasion)."""

from __future__ import annotations

from debate.train.common import TrainReport, fit, load_data, require_training_extra, trl_arguments
from debate.train.config import DPOSettings


def train_dpo(settings: DPOSettings) -> TrainReport:
    """Train ``settings.model`` with DPO on ``settings.data`` (``prompt``/``chosen``/``rejected``)."""
    require_training_extra(settings)
    from trl import DPOConfig, DPOTrainer

    dataset = load_data(settings, "dpo", [("prompt", "chosen", "rejected")])
    args = trl_arguments(settings, DPOConfig, beta=settings.beta, max_length=settings.max_length)
    return fit(DPOTrainer, settings, dataset, args)
