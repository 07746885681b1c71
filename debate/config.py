"""``run.toml``: a ``debate run`` written down, so that a run is one file to read, review and rerun.

Every key is also a ``debate run`` flag (``max_failures`` is ``--max-failures``);
flags given on the command line override the file. Relative paths are read
from the working directory, as flags are. Errors name the bad key and what
would be valid::

    scenario = "gsm8k_rcr"                 # registered name or path/to/scenario.py
    data = "gsm8k"                         # gsm8k, gsm8k-train, gsm-plus, quality, or a file
    out = "runs/gsm8k-rcr"
    limit = 200
    concurrency = 64
    seed = 0
    checkpoints = true

    [backend]                              # or: backend = "openai://..."
    default = "openai://gpu1:8000/v1,gpu2:8000/v1?model=Qwen/Qwen2.5-7B-Instruct"

    [prices]                               # or: prices = "prices.toml"
    "Qwen/Qwen2.5-7B-Instruct" = [0.10, 0.30]   # USD per 1M prompt, completion tokens
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, TypeAdapter, ValidationError, field_validator

from debate.datasets import DataFormat, FieldMap, Item, load_items
from debate.gold import UnreadGold
from debate.graph import DEFAULT_BACKEND
from debate.runner.manifest import DatasetRecord
from debate.runner.runner import Prices, RunOptions
from debate.runner.shard import Shard, ShardBy, select_items


class RunConfig(RunOptions):
    """What to run (scenario, data, backends, output) on top of how (``RunOptions``)."""

    scenario: str = Field(min_length=1)
    data: str = Field(min_length=1)
    out: Path
    backend: dict[str, str] = Field(default_factory=dict)
    """Backend name -> URI; ``default`` serves agents that name none. A plain string is the default backend."""
    limit: int | None = Field(default=None, ge=1)
    shard: str | None = None
    """``I/N``: run part I (0-based) of N; see ``shard_by``."""
    shard_by: ShardBy = "hash"
    split: str | None = None
    format: DataFormat | None = None
    fields: FieldMap | None = None

    @field_validator("backend", mode="before")
    @classmethod
    def _a_string_is_the_default_backend(cls, backend: Any) -> Any:
        return {DEFAULT_BACKEND: backend} if isinstance(backend, str) else backend

    @field_validator("shard")
    @classmethod
    def _shard_is_i_of_n(cls, shard: str | None) -> str | None:
        if shard is not None:
            Shard.parse(shard)
        return shard

    @field_validator("prices", mode="before")
    @classmethod
    def _prices_may_be_a_file(cls, prices: Any) -> Any:
        return load_prices(prices) if isinstance(prices, str | Path) else prices

    # -- what the runner needs -----------------------------------------------------------

    def options(self) -> RunOptions:
        return RunOptions.model_validate(self.model_dump(include=set(RunOptions.model_fields)))

    def selected_shard(self) -> Shard | None:
        return Shard.parse(self.shard, self.shard_by) if self.shard is not None else None

    def items(self) -> Iterator[Item]:
        """The items this run covers (limit, then shard), streamed; call again for a fresh pass."""
        loaded = load_items(self.data, self.fields, format=self.format, split=self.split)
        return select_items(loaded, limit=self.limit, shard=self.selected_shard())

    def dataset_record(self, items: int | None, unread_gold: UnreadGold | None = None) -> DatasetRecord:
        return DatasetRecord(
            source=self.data,
            split=self.split,
            format=self.format,
            fields=self.fields,
            items=items,
            limit=self.limit,
            shard=self.selected_shard(),
            unread_gold=unread_gold,
        )


def load_prices(path: str | Path) -> Prices:
    """A price table: a TOML file of ``"model" = [usd_per_1M_prompt, usd_per_1M_completion]`` lines."""
    data = read_toml(path)
    try:
        return TypeAdapter(Prices).validate_python(data)
    except ValidationError as error:
        bad = sorted({str(e["loc"][0]) for e in error.errors() if e["loc"]})
        raise ValueError(
            f"{path}: prices for {bad} must be [usd_per_1M_prompt_tokens, usd_per_1M_completion_tokens], "
            "two numbers >= 0"
        ) from None


def read_toml(path: str | Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: not valid TOML: {error}") from None


def merge_layers(base: Mapping[str, Any], overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """``base`` (a settings file's keys) with ``overrides`` (command-line values) on top.

    ``None`` means "not given" and changes nothing; tables merge key by key, so
    a flag adds or replaces one entry (``lora.r``) without dropping the file's others.
    """
    data = dict(base)
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return data


def load_run_config(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> RunConfig:
    """``run.toml`` (if any) with ``overrides`` (command-line values; ``None`` means not given) on top.

    Raises ``ValueError`` naming each bad key: ``--flag`` for values from the
    command line, ``FILE: key`` for values from the file.
    """
    data = read_toml(path) if path is not None else {}
    given = {key: value for key, value in (overrides or {}).items() if value is not None}
    if isinstance(data.get("backend"), str) and "backend" in given:
        data["backend"] = {DEFAULT_BACKEND: data["backend"]}
    data = merge_layers(data, given)
    try:
        return RunConfig.model_validate(data)
    except ValidationError as error:
        raise ValueError(
            describe_errors(error, source=str(path) if path else None, from_flags=set(given))
        ) from None


def flag_name(key: str) -> str:
    """The command-line spelling of a config key."""
    return "SCENARIO" if key == "scenario" else "--" + key.replace("_", "-")


def describe_errors(error: ValidationError, *, source: str | None, from_flags: set[str]) -> str:
    """One line per problem, each naming the key (or flag) and what is valid."""
    valid_keys = ", ".join(sorted(RunConfig.model_fields))
    lines = []
    for problem in error.errors():
        location = [str(part) for part in problem["loc"]]
        key = ".".join(location) or "(top level)"
        if location and location[0] in from_flags:
            where = flag_name(location[0]) + ("." + ".".join(location[1:]) if location[1:] else "")
        else:
            where = f"{source}: {key}" if source else key
        if problem["type"] == "extra_forbidden":
            valid = valid_keys if len(location) == 1 else ", ".join(sorted(FieldMap.model_fields))
            lines.append(f"{where}: unknown key; valid keys: {valid}")
        elif problem["type"] == "missing":
            hint = "give it in the file or as a flag" if source else "give it as a flag or in a --config file"
            lines.append(f"{where}: required ({hint})")
        else:
            lines.append(f"{where}: {problem['msg']} (got {problem.get('input')!r})")
    return "invalid run configuration:\n  " + "\n  ".join(lines)
