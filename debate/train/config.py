"""Training settings: one pydantic model per method, defaults from DTE's code where it gives them.

Precedence: the defaults here, then a TOML file (``debate train --config
train.toml``), then command-line flags. Every key of the file is a field of
the method's settings; ``[lora]``, ``[rewards]`` and ``[trl]`` are tables.
``[trl]`` passes any other field of TRL's own config class through
(``GRPOConfig``, ``DPOConfig``, ...), checked against that class::

    learning_rate = 1e-5
    max_steps = 200

    [lora]          # present: train a LoRA adapter (merged into the saved model)
    r = 64

    [rewards]       # GRPO only
    consensus = 2.0

    [trl]
    lr_scheduler_type = "cosine"

Where the defaults come from (DTE: ``dte/core/config.py`` and
``dte/training/grpo_trainer.py`` of ctrl-gaurav/Debate-Train-Evolve):
learning rate 2e-5, weight decay 0.01, 50 warmup steps, 3 epochs, batch 4
with 4 accumulation steps, AdamW betas (0.9, 0.99), gradient clipping 1.0;
GRPO groups of 4 samples at temperature 0.7, top-p 0.9, top-k 50, clip ratio
0.2 and KL coefficient 0.02; LoRA rank 128, alpha 256, dropout 0.05 on every
projection; reward weights 2.0 for correctness and 0.5 for each format
reward. DPO and KTO (not in DTE) keep TRL's own learning rate and beta.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from debate.answers import AnswerFormat

Method = Literal["grpo", "dpo", "kto", "sft"]
METHODS: tuple[Method, ...] = ("grpo", "dpo", "kto", "sft")
Device = Literal["auto", "cpu", "cuda"]


class LoraSettings(BaseModel):
    """A LoRA adapter (``peft``) instead of full fine-tuning; it is merged into the saved model."""

    model_config = ConfigDict(extra="forbid")

    r: int = Field(default=128, ge=1)
    alpha: int = Field(default=256, ge=1)
    dropout: float = Field(default=0.05, ge=0.0, lt=1.0)
    target_modules: list[str] = Field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )


class RewardWeights(BaseModel):
    """Weights of the GRPO rewards (``debate.train.rewards``); 0 leaves a reward out."""

    model_config = ConfigDict(extra="forbid")

    consensus: float = Field(default=2.0, ge=0.0)
    numeric: float = Field(default=0.5, ge=0.0)
    strict_format: float = Field(default=0.5, ge=0.0)
    soft_format: float = Field(default=0.5, ge=0.0)
    marker_count: float = Field(default=0.5, ge=0.0)


class TrainSettings(BaseModel):
    """What every method shares: the model, the data, the output and the optimiser.

    ``model`` is a local model directory (``save_pretrained`` layout); ``data``
    an export directory (``debate export``); ``out`` receives the trained
    model (LoRA merged), its tokenizer and ``training.json``. ``max_steps``
    overrides ``epochs``; ``device="auto"`` trains on CUDA when there is one.
    """

    model_config = ConfigDict(extra="forbid")

    model: Path
    data: Path
    out: Path
    learning_rate: float = Field(default=2e-5, gt=0.0)
    epochs: float = Field(default=3.0, gt=0.0)
    max_steps: int | None = Field(default=None, ge=1)
    batch_size: int = Field(default=4, ge=1)
    gradient_accumulation_steps: int = Field(default=4, ge=1)
    warmup_steps: int = Field(default=50, ge=0)
    weight_decay: float = Field(default=0.01, ge=0.0)
    adam_beta2: float = Field(default=0.99, gt=0.0, lt=1.0)
    max_grad_norm: float = Field(default=1.0, gt=0.0)
    seed: int = 42
    logging_steps: int = Field(default=10, ge=1)
    device: Device = "auto"
    lora: LoraSettings | None = None
    trl: dict[str, Any] = Field(default_factory=dict)
    """Further fields of TRL's config class for this method, passed through as given."""


class GRPOSettings(TrainSettings):
    """GRPO on ``dte`` data: sample ``num_generations`` answers per question, reward agreement with ``answer``."""

    method: Literal["grpo"] = "grpo"
    num_generations: int = Field(default=4, ge=2)
    max_completion_length: int = Field(default=512, ge=1)
    temperature: float = Field(default=0.7, gt=0.0)
    top_p: float = Field(default=0.9, gt=0.0, le=1.0)
    top_k: int = Field(default=50, ge=0)
    beta: float = Field(default=0.02, ge=0.0)
    """KL coefficient (DTE's ``kl_penalty``)."""
    epsilon: float = Field(default=0.2, gt=0.0)
    """Clip range of the policy ratio (DTE's ``clip_ratio``)."""
    rewards: RewardWeights = Field(default_factory=RewardWeights)
    answer: AnswerFormat = "number"
    """How completions are parsed for the consensus reward (``number``, ``choice``, ``text``)."""

    @model_validator(mode="after")
    def _groups_fit_the_batch(self) -> GRPOSettings:
        completions = self.batch_size * self.gradient_accumulation_steps
        if completions % self.num_generations:
            raise ValueError(
                f"batch_size * gradient_accumulation_steps ({completions}) counts completions and must be a "
                f"multiple of num_generations ({self.num_generations}), so that every group is whole"
            )
        if not any(self.rewards.model_dump().values()):
            raise ValueError("rewards: every reward weight is 0; GRPO needs at least one reward")
        return self


class DPOSettings(TrainSettings):
    """DPO on ``dpo`` (or ``judge``) pairs."""

    method: Literal["dpo"] = "dpo"
    learning_rate: float = Field(default=1e-6, gt=0.0)
    beta: float = Field(default=0.1, gt=0.0)
    max_length: int = Field(default=1024, ge=1)


class KTOSettings(TrainSettings):
    """KTO on ``kto`` examples; the weights rebalance desirable against undesirable examples."""

    method: Literal["kto"] = "kto"
    learning_rate: float = Field(default=1e-6, gt=0.0)
    beta: float = Field(default=0.1, gt=0.0)
    desirable_weight: float = Field(default=1.0, gt=0.0)
    undesirable_weight: float = Field(default=1.0, gt=0.0)
    max_length: int = Field(default=1024, ge=1)


class SFTSettings(TrainSettings):
    """Supervised fine-tuning on ``sft``, ``dte`` or ``critique`` data (loss on the assistant turns)."""

    method: Literal["sft"] = "sft"
    max_length: int = Field(default=1024, ge=1)


AnySettings = Annotated[GRPOSettings | DPOSettings | KTOSettings | SFTSettings, Field(discriminator="method")]
SETTINGS: dict[Method, type[TrainSettings]] = {
    "grpo": GRPOSettings,
    "dpo": DPOSettings,
    "kto": KTOSettings,
    "sft": SFTSettings,
}


def settings_for(method: str, values: Mapping[str, Any], *, source: str | None = None) -> TrainSettings:
    """Validated settings of ``method``; errors name each bad key (with ``source``, the file it came from)."""
    if method not in SETTINGS:
        raise ValueError(f"method: unknown training method {method!r}; valid: {', '.join(METHODS)}")
    try:
        return TypeAdapter(AnySettings).validate_python({**values, "method": method})
    except ValidationError as error:
        raise ValueError(describe(error, SETTINGS[method], source)) from None


def layered(config: str | Path | None, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """A TOML file's keys with ``overrides`` on top (``debate.config.merge_layers``)."""
    from debate.config import merge_layers, read_toml

    return merge_layers(read_toml(config) if config is not None else {}, overrides)


def load_train_settings(
    method: str, config: str | Path | None = None, overrides: Mapping[str, Any] | None = None
) -> TrainSettings:
    """Settings from the defaults, then ``config`` (TOML), then ``overrides`` (command-line values)."""
    return settings_for(
        method, layered(config, overrides), source=str(config) if config is not None else None
    )


def describe(error: ValidationError, model: type[BaseModel], source: str | None) -> str:
    lines = []
    for problem in error.errors():
        location = [str(part) for part in problem["loc"] if str(part) not in {"grpo", "dpo", "kto", "sft"}]
        key = ".".join(location) or "(settings)"
        where = f"{source}: {key}" if source else key
        if problem["type"] == "extra_forbidden":
            lines.append(f"{where}: unknown key; valid keys: {', '.join(sorted(model.model_fields))}")
        elif problem["type"] == "missing":
            lines.append(f"{where}: required")
        else:
            lines.append(f"{where}: {problem['msg']} (got {problem.get('input')!r})")
    return f"invalid {model.__name__}:\n  " + "\n  ".join(lines)
