"""Dataset items: a question, optional context fields and an optional gold answer.

Loaders stream ``Item``s so that runs over whole benchmarks keep memory flat:
JSONL and CSV are read line by line, Parquet in record batches, and Hugging
Face ``datasets`` directories are memory-mapped. Nothing is fetched from a hub.

- ``load_items(source, fields)`` is the one entry point the runner uses: a
  built-in name (``gsm8k``, ``gsm8k-train``, ``gsm-plus``, ``quality``, and the generated
  ``arithmetic`` and ``arithmetic-train`` of ``debate.arithmetic``) or a
  file/directory on disk read through a ``FieldMap``.
- ``load_gsm8k``, ``load_gsm_plus``, ``load_quality`` read their benchmark's
  own format; the bundled copies (``debate/data/``) when no path is given.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from html.parser import HTMLParser
from importlib import resources
from itertools import count
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from debate.answers import normalize_number


class Item(BaseModel):
    """One question to debate. ``gold`` is never shown to agents; ``context`` fields are, as the scenario allows."""

    model_config = ConfigDict(extra="forbid")

    id: str
    question: str
    gold: str | None = None
    context: dict[str, str] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)


def bundled_path(*parts: str) -> Path:
    """Path of a file shipped in ``debate/data``."""
    return Path(str(resources.files("debate.data").joinpath(*parts)))


# -- GSM8K and GSM-Plus --------------------------------------------------------------


def gsm8k_gold(answer: str) -> str | None:
    """GSM8K answers end with ``#### <number>``."""
    _, sep, tail = answer.rpartition("####")
    return normalize_number(tail.strip()) if sep else None


def load_gsm8k(path: str | Path | None = None, *, split: str = "test") -> Iterator[Item]:
    """GSM8K JSONL (``question``, ``answer``); the bundled copy when ``path`` is None.

    The worked solution is kept as the ``solution`` context field, which
    scenarios hide from every role unless they choose to show it.
    """
    source = Path(path) if path is not None else bundled_path("gsm8k", f"{split}.jsonl")
    for index, row in enumerate(_jsonl_rows(source)):
        yield Item(
            id=f"gsm8k-{split}-{index}",
            question=row["question"],
            gold=gsm8k_gold(row["answer"]),
            context={"solution": row["answer"]},
        )


def load_gsm_plus(path: str | Path | None = None) -> Iterator[Item]:
    """GSM-Plus JSONL (perturbed GSM8K questions); the bundled ``testmini`` when ``path`` is None.

    ``gold`` is the numeric ``answer`` (fractions as decimals). The "critical
    thinking" perturbation has no numeric answer (``"None"``: the question
    lacks information), so those items have no gold and do not count in
    accuracy; ``metadata["answer"]`` keeps the raw value for such analyses.
    ``metadata`` carries ``perturbation_type``, ``seed_question`` and
    ``seed_answer`` for per-perturbation breakdowns.
    """
    source = Path(path) if path is not None else bundled_path("gsm_plus", "testmini.jsonl")
    for index, row in enumerate(_jsonl_rows(source)):
        answer = str(row["answer"])
        yield Item(
            id=f"gsm-plus-{index}",
            question=row["question"],
            gold=normalize_number(answer),
            context={"solution": row.get("solution") or ""},
            metadata={
                "perturbation_type": row.get("perturbation_type"),
                "seed_question": row.get("seed_question"),
                "seed_answer": row.get("seed_answer"),
                "answer": answer,
            },
        )


# -- QuALITY ------------------------------------------------------------------------

OPTION_LETTERS = "ABCDEFGHIJ"


def load_safety_queries(path: str | Path | None = None) -> Iterator[Item]:
    """User requests to deliberate over under a safety policy (``aidsafe``); the bundled examples when ``path`` is None.

    JSONL with ``id``, ``question`` and ``answer``, the decision the policy calls
    for (``comply`` or ``refuse``), kept as gold; ``metadata["rule"]`` is the
    policy rule that decides it (``debate/data/aidsafe/policy.toml``).
    """
    source = Path(path) if path is not None else bundled_path("aidsafe", "queries.jsonl")
    for row in _jsonl_rows(source):
        yield Item(
            id=row["id"], question=row["question"], gold=row["answer"], metadata={"rule": row.get("rule")}
        )


def load_quality(path: str | Path | None = None) -> Iterator[Item]:
    """QuALITY multiple-choice reading comprehension; the bundled sample when ``path`` is None.

    Yields ``Item(question=<question, then lines 'A. option', 'B. option', ...>,
    gold=<letter>, context={"passage": <article as plain text>},
    metadata={"options": [...], "question_text": <bare question>, "article_id", "title"})``,
    the format the oversight scenarios read.

    Reads both layouts: the official one (``questions: [{question, options,
    gold_label}]``, gold hidden in the test split) and the flattened one of the
    bundled sample (``questionN``, ``questionNoptionK``, ``questionN_gold_label``,
    1-based). Articles may be HTML (tags are stripped) and lines may repeat; a
    question is yielded once per article.
    """
    source = Path(path) if path is not None else bundled_path("quality", "sample.jsonl")
    seen: set[tuple[str, str]] = set()
    for row in _jsonl_rows(source):
        article_id = str(row.get("article_id", ""))
        passage: str | None = None  # stripped once per row, only if a question is new
        for number, question, options, gold_label, unique_id in _quality_questions(row):
            if (article_id, question) in seen:
                continue
            seen.add((article_id, question))
            if passage is None:
                passage = html_to_text(row["article"])
            options = [option.strip() for option in options]
            lines = [f"{OPTION_LETTERS[k]}. {option}" for k, option in enumerate(options)]
            yield Item(
                id=f"quality-{unique_id or f'{article_id}-{number}'}",
                question="\n".join([question, *lines]),
                gold=OPTION_LETTERS[gold_label - 1] if gold_label else None,
                context={"passage": passage},
                metadata={
                    "options": options,
                    "question_text": question,
                    "article_id": article_id,
                    "title": row.get("title"),
                },
            )


def _quality_questions(
    row: Mapping[str, Any],
) -> Iterator[tuple[int, str, list[str], int | None, str | None]]:
    """(number, question, options, 1-based gold label or None, unique id or None) for either layout."""
    if "questions" in row:
        for number, entry in enumerate(row["questions"], start=1):
            label = entry.get("gold_label")
            yield number, entry["question"], list(entry["options"]), label, entry.get("question_unique_id")
        return
    for number in count(1):
        question = row.get(f"question{number}")
        if question is None:
            return
        options = []
        for k in count(1):
            option = row.get(f"question{number}option{k}")
            if option is None:
                break
            options.append(option)
        yield number, question, options, row.get(f"question{number}_gold_label"), None


_BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "li",
        "blockquote",
        "pre",
        "table",
        "tr",
        "section",
    }
)
_SKIPPED_TAGS = frozenset({"head", "script", "style", "title"})
_WHITESPACE = re.compile(r"\s+")


class _TextExtractor(HTMLParser):
    """As a browser lays it out: block tags separate paragraphs by a blank line, ``<br>`` breaks a line,
    and any other whitespace (hard wraps included) is one space."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[list[str]] = [[]]
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping += 1
        elif tag in _BLOCK_TAGS:
            self.paragraphs.append([])
        elif tag == "br":
            self.paragraphs[-1].append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.paragraphs.append([])

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.paragraphs[-1].append(_WHITESPACE.sub(" ", data))

    def text(self) -> str:
        blocks = []
        for parts in self.paragraphs:
            lines = [" ".join(line.split()) for line in "".join(parts).split("\n")]
            block = "\n".join(line for line in lines if line)
            if block:
                blocks.append(block)
        return "\n\n".join(blocks)


def html_to_text(article: str | Iterable[str]) -> str:
    """Plain text of an HTML article (a string or a list of lines); plain text passes through tidied."""
    extractor = _TextExtractor()
    extractor.feed(article if isinstance(article, str) else "".join(article))
    extractor.close()
    return extractor.text()


# -- any file on disk -----------------------------------------------------------------

GoldFormat = Literal["text", "number", "gsm8k"]
DataFormat = Literal["jsonl", "csv", "tsv", "parquet", "arrow", "hf"]

_SUFFIX_FORMATS: dict[str, DataFormat] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".arrow": "arrow",
}


class FieldMap(BaseModel):
    """Which columns of a data file hold the question, the gold answer, the context and the item id.

    - ``question``: the column debated.
    - ``gold``: the reference answer's column, or ``None`` for data without one.
      ``gold_format`` says how to read it: by default (``None``) the run reads
      it with the scenario's answer parser, as it reads the models' answers
      (``debate.gold``); explicitly, ``text`` as is, ``number`` normalised as
      the number parser writes answers (``"1,200.00"`` -> ``"1200"``, ``"1/4"``
      -> ``"0.25"``), ``gsm8k`` the number after ``####``.
    - ``context``: context field name -> column (``["passage"]`` is short for
      ``{"passage": "passage"}``); scenarios decide which roles see each field.
    - ``id``: the column of stable item ids; without one, ids are
      ``<file stem>-<row number>`` (stable while the file does not change).
    - ``metadata``: columns copied into ``Item.metadata`` (and so into each result).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    question: str = "question"
    gold: str | None = "answer"
    gold_format: GoldFormat | None = None
    context: dict[str, str] = Field(default_factory=dict)
    id: str | None = None
    metadata: list[str] = Field(default_factory=list)

    @field_validator("context", mode="before")
    @classmethod
    def _context_names_are_columns_by_default(cls, context: Any) -> Any:
        if isinstance(context, list | tuple):
            return {name: name for name in context}
        return context

    @field_validator("gold", "id", mode="before")
    @classmethod
    def _empty_means_none(cls, value: Any) -> Any:
        return None if value == "" else value

    def item(self, row: Mapping[str, Any], index: int, id_prefix: str) -> Item:
        """Build the item of one row; a missing column fails naming the row, the column and what exists."""

        def column(name: str, role: str) -> Any:
            if name not in row:
                raise ValueError(
                    f"{id_prefix} row {index}: no column {name!r} (the {role}); columns: {sorted(row)}. "
                    f"Set fields.{role} to the right column"
                    + (" or to '' for none" if role in ("gold", "id") else "")
                )
            return row[name]

        gold = None
        if self.gold is not None:
            raw = column(self.gold, "gold")
            gold = _read_gold(raw, self.gold_format) if raw is not None else None
        item_id = str(column(self.id, "id")) if self.id is not None else f"{id_prefix}-{index}"
        return Item(
            id=item_id,
            question=str(column(self.question, "question")),
            gold=gold,
            context={name: str(column(source, "context")) for name, source in self.context.items()},
            metadata={name: column(name, "metadata") for name in self.metadata},
        )


def _read_gold(raw: Any, gold_format: GoldFormat | None) -> str | None:
    """Gold in its explicit format; without one, as written (the run reads it with the answer parser)."""
    text = str(raw)
    if gold_format == "number":
        return normalize_number(text)
    if gold_format == "gsm8k":
        return gsm8k_gold(text)
    return text


def data_format(path: Path) -> DataFormat:
    """The format of a data file from its suffix (a directory is a ``datasets.save_to_disk`` folder)."""
    if path.is_dir():
        return "hf"
    found = _SUFFIX_FORMATS.get(path.suffix.lower())
    if found is None:
        raise ValueError(
            f"data: cannot tell the format of {str(path)!r} from its suffix; "
            f"valid suffixes: {sorted(_SUFFIX_FORMATS)} or a datasets.save_to_disk directory"
        )
    return found


def load_file(
    path: str | Path,
    fields: FieldMap | None = None,
    *,
    format: DataFormat | None = None,
    split: str | None = None,
) -> Iterator[Item]:
    """Items of a JSONL / CSV / TSV / Parquet / Arrow file or a ``datasets.save_to_disk`` directory.

    ``split`` picks one split of a saved ``DatasetDict`` (required when it has several).
    """
    source = Path(path)
    if not source.exists():
        raise FileNotFoundError(f"data: {str(source)!r} does not exist")
    fields = fields or FieldMap()
    chosen = format or data_format(source)
    rows = _ROW_READERS[chosen](source, split)
    for index, row in enumerate(rows):
        yield fields.item(row, index, source.stem)


def _jsonl_rows(path: Path, split: str | None = None) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                hint = " (a JSON array? convert it to JSON Lines, one object per line)" if number == 1 else ""
                raise ValueError(f"{path}:{number}: not a JSON object line: {error}{hint}") from None
            if not isinstance(row, dict):
                raise ValueError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
            yield row


def _csv_rows(path: Path, split: str | None = None, *, delimiter: str = ",") -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle, delimiter=delimiter)


def _parquet_rows(path: Path, split: str | None = None) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(path).iter_batches(batch_size=256):
        yield from batch.to_pylist()


def _arrow_rows(path: Path, split: str | None = None) -> Iterator[dict[str, Any]]:
    from datasets import Dataset

    yield from Dataset.from_file(str(path))  # memory-mapped: rows are read as iterated


def _saved_dataset_rows(path: Path, split: str | None = None) -> Iterator[dict[str, Any]]:
    from datasets import DatasetDict, load_from_disk

    dataset = load_from_disk(str(path))  # memory-mapped
    if isinstance(dataset, DatasetDict):
        splits = sorted(dataset)
        if split is None and len(splits) == 1:
            split = splits[0]
        if split not in dataset:
            raise ValueError(f"data: {str(path)!r} has splits {splits}; choose one with split=")
        dataset = dataset[split]
    elif split is not None:
        raise ValueError(f"data: {str(path)!r} is a single dataset; split={split!r} does not apply")
    yield from dataset


_ROW_READERS: dict[DataFormat, Callable[[Path, str | None], Iterator[dict[str, Any]]]] = {
    "jsonl": _jsonl_rows,
    "csv": _csv_rows,
    "tsv": partial(_csv_rows, delimiter="\t"),
    "parquet": _parquet_rows,
    "arrow": _arrow_rows,
    "hf": _saved_dataset_rows,
}


# -- names ----------------------------------------------------------------------------


def _arithmetic(split: Literal["test", "train"]) -> Iterator[Item]:
    """The generated testbed task (``debate.arithmetic``), which builds its items from this module's ``Item``."""
    from debate.arithmetic import load_arithmetic

    return load_arithmetic(split)


BUILTIN_DATASETS: dict[str, Callable[[], Iterator[Item]]] = {
    "gsm8k": partial(load_gsm8k, split="test"),
    "gsm8k-train": partial(load_gsm8k, split="train"),
    "gsm-plus": load_gsm_plus,
    "quality": load_quality,
    "arithmetic": partial(_arithmetic, "test"),
    "arithmetic-train": partial(_arithmetic, "train"),
    "aidsafe": load_safety_queries,
}
"""Bundled datasets by the names ``--data`` accepts."""


def load_items(
    source: str | Path,
    fields: FieldMap | None = None,
    *,
    format: DataFormat | None = None,
    split: str | None = None,
) -> Iterator[Item]:
    """Items from a built-in dataset name or a data file; what ``debate run --data`` reads.

    A name wins only when no file of that name exists in the working directory.
    ``fields``, ``format`` and ``split`` apply to files only.
    """
    name = str(source)
    if name in BUILTIN_DATASETS and not Path(name).exists():
        if fields is not None or format is not None or split is not None:
            raise ValueError(
                f"data: {name!r} is a built-in dataset; fields, format and split apply only to data files"
            )
        return BUILTIN_DATASETS[name]()
    if not Path(name).exists():
        raise FileNotFoundError(
            f"data: {name!r} is neither a built-in dataset ({', '.join(BUILTIN_DATASETS)}) nor an existing file"
        )
    return load_file(name, fields, format=format, split=split)
