"""Loading items: the bundled benchmarks, and any JSONL / CSV / Parquet / saved Hugging Face dataset with a field map."""

import json
from itertools import islice

import pytest

from debate.datasets import (
    BUILTIN_DATASETS,
    FieldMap,
    Item,
    html_to_text,
    load_file,
    load_gsm8k,
    load_gsm_plus,
    load_items,
    load_quality,
)

ROWS = [
    {
        "problem": "What is 2 + 2?",
        "solution": "2 + 2 = 4\n#### 4",
        "uid": "p1",
        "source": "toy",
        "hint": "add",
    },
    {
        "problem": "What is 3 * 3?",
        "solution": "3 * 3 = 9\n#### 9",
        "uid": "p2",
        "source": "toy",
        "hint": "multiply",
    },
]
FIELDS = FieldMap(
    question="problem", gold="solution", gold_format="gsm8k", id="uid", context=["hint"], metadata=["source"]
)


def expected_items():
    return [
        Item(
            id="p1", question="What is 2 + 2?", gold="4", context={"hint": "add"}, metadata={"source": "toy"}
        ),
        Item(
            id="p2",
            question="What is 3 * 3?",
            gold="9",
            context={"hint": "multiply"},
            metadata={"source": "toy"},
        ),
    ]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_jsonl_with_a_field_map(tmp_path):
    path = write_jsonl(tmp_path / "toy.jsonl", ROWS)
    assert list(load_file(path, FIELDS)) == expected_items()


def test_csv_and_tsv_with_a_field_map(tmp_path):
    import csv

    for name, delimiter in (("toy.csv", ","), ("toy.tsv", "\t")):
        with open(tmp_path / name, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(ROWS[0]), delimiter=delimiter)
            writer.writeheader()
            writer.writerows(ROWS)
        assert list(load_file(tmp_path / name, FIELDS)) == expected_items()


def test_parquet_arrow_and_save_to_disk_datasets(tmp_path):
    from datasets import Dataset, DatasetDict

    dataset = Dataset.from_list(ROWS)
    dataset.to_parquet(str(tmp_path / "toy.parquet"))
    assert list(load_file(tmp_path / "toy.parquet", FIELDS)) == expected_items()

    dataset.save_to_disk(str(tmp_path / "saved"))
    assert list(load_file(tmp_path / "saved", FIELDS)) == expected_items()
    arrow_file = next((tmp_path / "saved").glob("*.arrow"))
    assert list(load_file(arrow_file, FIELDS)) == expected_items()

    DatasetDict({"train": dataset, "test": dataset.select([1])}).save_to_disk(str(tmp_path / "splits"))
    assert [item.id for item in load_file(tmp_path / "splits", FIELDS, split="test")] == ["p2"]
    with pytest.raises(ValueError, match=r"has splits \['test', 'train'\]; choose one with split="):
        list(load_file(tmp_path / "splits", FIELDS))


def test_ids_default_to_file_stem_and_row_and_gold_can_be_absent(tmp_path):
    path = write_jsonl(tmp_path / "plain.jsonl", [{"question": "a?"}, {"question": "b?"}])
    items = list(load_file(path, FieldMap(gold=None)))
    assert [(item.id, item.gold) for item in items] == [("plain-0", None), ("plain-1", None)]


def test_a_missing_column_names_the_row_the_column_and_the_columns_there_are(tmp_path):
    path = write_jsonl(tmp_path / "toy.jsonl", ROWS)
    with pytest.raises(
        ValueError, match=r"toy row 0: no column 'answer' \(the gold\); columns: \['hint', 'problem'"
    ):
        list(load_file(path, FieldMap(question="problem")))


def test_number_gold_is_normalised_as_the_number_parser_writes_answers(tmp_path):
    path = write_jsonl(
        tmp_path / "n.jsonl", [{"question": "q", "answer": "$1,200.00"}, {"question": "q", "answer": "1/4"}]
    )
    assert [item.gold for item in load_file(path, FieldMap(gold_format="number"))] == ["1200", "0.25"]


def test_loaders_stream_rows_instead_of_reading_the_whole_file(tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_text(json.dumps({"question": "first?", "answer": "1"}) + "\n" + "this line is not JSON\n")
    first = next(load_file(path))  # only the first line has been parsed
    assert first.question == "first?"
    with pytest.raises(ValueError, match=r"big.jsonl:2: not a JSON object line"):
        list(load_file(path))


def test_unknown_suffixes_and_names_say_what_is_valid(tmp_path):
    (tmp_path / "data.xml").write_text("<x/>")
    with pytest.raises(ValueError, match=r"cannot tell the format .* valid suffixes: \['.arrow', '.csv'"):
        list(load_items(tmp_path / "data.xml"))
    with pytest.raises(
        FileNotFoundError, match=r"neither a built-in dataset \(gsm8k, gsm8k-train, gsm-plus, quality, arithmetic, arithmetic-train, aidsafe\)"
    ):
        load_items("gsm9k")
    with pytest.raises(ValueError, match="fields, format and split apply only to data files"):
        load_items("gsm8k", FieldMap())


def test_builtin_names_load_the_bundled_benchmarks():
    assert sorted(BUILTIN_DATASETS) == ["aidsafe", "arithmetic", "arithmetic-train", "gsm-plus", "gsm8k", "gsm8k-train", "quality"]
    first = next(load_items("gsm8k"))
    assert first == next(load_gsm8k())
    assert first.id == "gsm8k-test-0" and first.gold == "18"
    assert next(load_items("gsm8k-train")).id == "gsm8k-train-0"
    assert sum(1 for _ in load_items("gsm8k")) == 1319


def test_gsm_plus_keeps_perturbation_metadata_and_reads_fractions():
    items = list(load_gsm_plus())
    assert len(items) == 2400
    first = items[0]
    assert first.gold == "4.33" and first.id == "gsm-plus-0"
    assert first.metadata["perturbation_type"] == "numerical substitution"
    assert first.metadata["seed_question"].startswith("Three of the women")
    assert "solution" in first.context
    assert {item.gold for item in items if item.metadata["answer"] == "1/4"} == {"0.25"}
    critical = [item for item in items if item.metadata["perturbation_type"] == "critical thinking"]
    assert len(critical) == 300 and all(item.gold is None for item in critical)


def test_quality_items_follow_the_agreed_format():
    items = list(load_quality())
    assert len(items) == 5  # the sample's line is duplicated; each question once
    first = items[0]
    options = first.metadata["options"]
    assert len(options) == 4 and first.gold == "B"  # gold label 2, 1-based
    assert first.question.splitlines() == [
        first.metadata["question_text"],
        *(f"{letter}. {option}" for letter, option in zip("ABCD", options, strict=True)),
    ]
    passage = first.context["passage"]
    assert passage.startswith("THE GIRL IN HIS MIND\n\nBy ROBERT F. YOUNG")
    assert "<" not in passage and "</p>" not in passage
    hard_wrapped_in_the_html = "The dance that the chocoletto girl was performing was an expurgated version"
    assert hard_wrapped_in_the_html in passage
    assert len({item.id for item in items}) == 5


def test_quality_reads_the_official_nested_layout(tmp_path):
    row = {
        "article_id": "7",
        "title": "T",
        "article": "Line one.\n\nThe door was green.",
        "questions": [
            {
                "question": "Door colour?",
                "options": ["red", "green"],
                "gold_label": 2,
                "question_unique_id": "7_q1",
            },
            {"question": "Hidden gold?", "options": ["x", "y"]},
        ],
    }
    items = list(load_quality(write_jsonl(tmp_path / "q.jsonl", [row, row])))
    assert [(item.id, item.gold) for item in items] == [("quality-7_q1", "B"), ("quality-7-2", None)]
    assert items[0].question == "Door colour?\nA. red\nB. green"


def test_html_to_text_lays_out_paragraphs_breaks_and_entities():
    html = "<html><head><title>skip</title></head><p>one\n  two <i>three</i></p><p>a<br/>b &amp; c</p></html>"
    assert html_to_text(html) == "one two three\n\na\nb & c"
    assert html_to_text(["<p>split ", "across</p>"]) == "split across"


def test_loading_is_lazy_for_big_builtins():
    assert [item.id for item in islice(load_items("gsm8k-train"), 2)] == ["gsm8k-train-0", "gsm8k-train-1"]
