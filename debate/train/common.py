"""What every training method shares: the optional-dependency check, data and model loading, TRL
arguments, and saving a model that the ``hf:`` backend can load straight away.

Training wraps TRL; it does not re-implement it. Everything heavy (torch,
transformers, trl, datasets, peft) is imported inside functions, so that
``import debate.train`` stays cheap and works without the ``[train]`` extra.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from debate.train.config import TrainSettings

REPORT_FILE = "training.json"

EXPORT_HINT = {
    "grpo": "debate export RUN_DIR --format dte",
    "dpo": "debate export RUN_DIR --format dpo (or judge, step_dpo, pbt, aidsafe_dpo)",
    "kto": "debate export RUN_DIR --format kto",
    "sft": "debate export RUN_DIR --format sft (or dte, critique, stance, aidsafe)",
}


class MissingTrainingExtra(ImportError):
    """A package of the ``[train]`` extra is not installed."""


def require_training_extra(settings: TrainSettings | None = None) -> None:
    """Fail with what to install when trl, datasets, accelerate (or peft, for LoRA) are missing."""
    needed = ["trl", "datasets", "accelerate"] + (["peft"] if settings is not None and settings.lora else [])
    missing = []
    for package in needed:
        try:
            importlib.import_module(package)
        except ImportError:
            missing.append(package)
    if missing:
        raise MissingTrainingExtra(
            f"training needs {', '.join(missing)}, from the [train] extra: pip install 'debate[train]'"
        )


class TrainReport(BaseModel):
    """What a training run did; saved as ``training.json`` beside the model."""

    model_config = ConfigDict(extra="forbid")

    method: str
    base_model: str
    data: str
    out: str
    rows: int
    steps: int
    train_loss: float | None
    runtime_s: float
    processes: int = 1
    """Data-parallel training processes (``accelerate launch``, ``--num-processes``)."""
    settings: dict[str, Any]
    log_history: list[dict[str, Any]] = Field(default_factory=list)


def load_data(settings: TrainSettings, method: str, layouts: Sequence[Sequence[str]]) -> Any:  # noqa: ANN401
    """The export in ``settings.data``, reduced to the first of ``layouts`` (column lists) that it has."""
    from datasets import Dataset, load_from_disk

    path = Path(settings.data)
    if not (path / "dataset_info.json").is_file():
        raise FileNotFoundError(
            f"data: {str(path)!r} is not an exported dataset (no dataset_info.json); make one with "
            f"`{EXPORT_HINT[method]} --out {path}`"
        )
    dataset = load_from_disk(str(path))
    if not isinstance(dataset, Dataset):
        raise ValueError(f"data: {str(path)!r} holds several splits; --method {method} reads one dataset")
    for layout in layouts:
        if all(column in dataset.column_names for column in layout):
            if len(dataset) == 0:
                raise ValueError(
                    f"data: {str(path)!r} has no rows; its README.md says which debates were skipped and why"
                )
            return dataset.select_columns(list(layout))
    wanted = " or ".join("/".join(layout) for layout in layouts)
    raise ValueError(
        f"data: {str(path)!r} has columns {dataset.column_names}; --method {method} needs {wanted}: "
        f"export with `{EXPORT_HINT[method]}`"
    )


def load_model(settings: TrainSettings) -> tuple[Any, Any]:
    """Model and tokenizer from the local model directory; never from a hub."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from debate.agents.backends.transformers import model_directory

    path = model_directory(settings.model)
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, dtype="auto")
    return model, tokenizer


def use_cpu(settings: TrainSettings) -> bool:
    import torch

    if settings.device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: 'cuda' was asked for, but torch sees no CUDA GPU; use 'auto' or 'cpu'")
    return settings.device == "cpu" or not torch.cuda.is_available()


def trl_arguments(settings: TrainSettings, config_class: type, **method_fields: Any) -> Any:  # noqa: ANN401
    """An instance of TRL's ``config_class`` from the shared settings, ``method_fields`` and ``settings.trl``."""
    import torch

    valid = {field.name for field in dataclasses.fields(config_class)}
    unknown = sorted(set(settings.trl) - valid)
    if unknown:
        raise ValueError(
            f"trl: {unknown} are not fields of trl.{config_class.__name__}; see its documentation for valid names"
        )
    cpu = use_cpu(settings)
    fields: dict[str, Any] = {
        "output_dir": str(Path(settings.out) / "checkpoints"),
        "learning_rate": settings.learning_rate,
        "num_train_epochs": settings.epochs,
        "max_steps": settings.max_steps or -1,
        "per_device_train_batch_size": settings.batch_size,
        "gradient_accumulation_steps": settings.gradient_accumulation_steps,
        "warmup_steps": settings.warmup_steps,
        "weight_decay": settings.weight_decay,
        "adam_beta2": settings.adam_beta2,
        "max_grad_norm": settings.max_grad_norm,
        "seed": settings.seed,
        "logging_steps": settings.logging_steps,
        "save_strategy": "no",
        "report_to": "none",
        "use_cpu": cpu,
        "bf16": not cpu and torch.cuda.is_bf16_supported(),
        **method_fields,
        **settings.trl,
    }
    return config_class(**fields)


def peft_config(settings: TrainSettings) -> Any:  # noqa: ANN401 - peft.LoraConfig or None
    if settings.lora is None:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=settings.lora.r,
        lora_alpha=settings.lora.alpha,
        lora_dropout=settings.lora.dropout,
        target_modules=settings.lora.target_modules,
        task_type="CAUSAL_LM",
    )


def fit(
    trainer_class: type, settings: TrainSettings, dataset: Any, args: Any, **trainer_fields: Any
) -> TrainReport:  # noqa: ANN401
    """Load the model, build TRL's ``trainer_class`` on ``dataset`` with ``args``, train, and save."""
    model, tokenizer = load_model(settings)
    trainer = trainer_class(
        model=model,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=peft_config(settings),
        **trainer_fields,
    )
    return train_and_save(trainer, settings, len(dataset))


def train_and_save(trainer: Any, settings: TrainSettings, rows: int) -> TrainReport:  # noqa: ANN401
    """Run ``trainer``, save the model (LoRA merged) and tokenizer into ``settings.out``, and the report."""
    prepared = getattr(trainer, "train_dataset", None)
    if prepared is not None and len(prepared) == 0:
        raise ValueError(
            f"data: all {rows} rows were dropped while TRL prepared them (prompts longer than "
            f"max_length={getattr(settings, 'max_length', '?')} tokens lose their whole completion); raise max_length"
        )
    started = time.perf_counter()
    output = trainer.train()
    runtime = time.perf_counter() - started
    out = Path(settings.out)
    report = TrainReport(
        method=getattr(settings, "method", "unknown"),
        base_model=str(settings.model),
        data=str(settings.data),
        out=str(out),
        rows=rows,
        steps=trainer.state.global_step,
        train_loss=output.training_loss,
        runtime_s=runtime,
        processes=trainer.accelerator.num_processes,
        settings=settings.model_dump(mode="json"),
        log_history=json.loads(json.dumps(trainer.state.log_history, default=str)),
    )
    accelerator = trainer.accelerator
    if accelerator.is_main_process:  # under `accelerate launch` every process trained the same model
        model = accelerator.unwrap_model(trainer.model)
        if hasattr(model, "merge_and_unload"):  # a peft model: save plain weights that every loader reads
            model = model.merge_and_unload()
        model.save_pretrained(out)
        trainer.processing_class.save_pretrained(out)
        (out / REPORT_FILE).write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
        checkpoints = Path(trainer.args.output_dir)
        if checkpoints.is_dir() and not any(checkpoints.iterdir()):
            checkpoints.rmdir()  # save_strategy="no" leaves it empty
    accelerator.wait_for_everyone()  # no process returns before the model is on disk
    return report


def read_train_report(out: str | Path) -> TrainReport:
    """The ``training.json`` of an earlier training run."""
    return TrainReport.model_validate_json((Path(out) / REPORT_FILE).read_text(encoding="utf-8"))
