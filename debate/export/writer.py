"""Writing rows as a Hugging Face dataset: ``data.jsonl`` first, then ``save_to_disk`` from it.

Rows stream to JSON Lines as they are made, and the Arrow dataset is built
from that file, so an export of a whole benchmark run never holds all rows in
memory. Column types are declared per format, so an empty export still has
its schema and a trainer reports "no rows" rather than a missing column.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from debate.export.base import Column, Row

DATA_FILE = "data.jsonl"


def require_datasets() -> None:
    """Fail early, saying what to install, when the ``datasets`` library is missing."""
    try:
        import datasets  # noqa: F401
    except ImportError:
        raise ImportError(
            "debate export writes Hugging Face datasets and needs the `datasets` package: "
            "pip install 'debate[train]'"
        ) from None


def features(columns: Mapping[str, Column]) -> Any:  # noqa: ANN401 - datasets.Features, imported lazily
    from datasets import Features, List, Value

    chat = List({"role": Value("string"), "content": Value("string")})
    scalar = {
        "string": Value("string"),
        "float": Value("float64"),
        "int": Value("int64"),
        "bool": Value("bool"),
    }
    return Features({name: chat if kind == "chat" else scalar[kind] for name, kind in columns.items()})


def write_jsonl(path: Path, rows: Iterable[Row]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def save_dataset(out: Path, columns: Mapping[str, Column]) -> None:
    """Build the Arrow dataset from ``out/data.jsonl`` and ``save_to_disk`` it into ``out``."""
    from datasets import Dataset

    schema = features(columns)
    source = out / DATA_FILE
    if source.stat().st_size == 0:
        # one (empty) shard: datasets cannot load a dataset saved with none
        Dataset.from_dict({name: [] for name in columns}, features=schema).save_to_disk(
            str(out), num_shards=1
        )
        return
    with tempfile.TemporaryDirectory(prefix="debate-export-") as cache:
        dataset = Dataset.from_json(str(source), features=schema, cache_dir=cache)
        dataset.save_to_disk(str(out))
