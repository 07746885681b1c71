"""SFT on debate traces: the ``sft``, ``dte``, ``critique`` or ``stance`` export.

The loss is on the assistant turn only. ``messages`` rows are split into a
prompt (every turn but the last) and a completion (the last, assistant,
turn), TRL's prompt-completion format, whose loss covers the completion;
the whole chat would otherwise be learned, system prompt included.
"""

from __future__ import annotations

from typing import Any

from debate.train.common import TrainReport, fit, load_data, require_training_extra, trl_arguments
from debate.train.config import SFTSettings


def as_prompt_completion(dataset: Any) -> Any:  # noqa: ANN401 - datasets.Dataset
    """``messages`` -> ``prompt`` (all turns but the last) + ``completion`` (the last turn)."""
    if "messages" not in dataset.column_names:
        return dataset
    return dataset.map(
        lambda row: {"prompt": row["messages"][:-1], "completion": row["messages"][-1:]},
        remove_columns=["messages"],
        keep_in_memory=True,
    )


def train_sft(settings: SFTSettings) -> TrainReport:
    """Train ``settings.model`` with SFT on ``settings.data`` (``messages`` or ``prompt``/``completion``)."""
    require_training_extra(settings)
    from trl import SFTConfig, SFTTrainer

    dataset = as_prompt_completion(load_data(settings, "sft", [("messages",), ("prompt", "completion")]))
    args = trl_arguments(settings, SFTConfig, max_length=settings.max_length)
    return fit(SFTTrainer, settings, dataset, args)
