"""benchmarks/throughput.py: a debate run, then exactly its requests replayed raw, and the ratio of the two.

The script is run through its ``main`` on a local OpenAI-compatible server
(which records what it was sent, independently of the script) and on a tiny
random transformers model. These check the measuring, not the numbers.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fake_openai_server import FakeOpenAIServer

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "throughput.py"
RAW_ONLY_FIELDS = ("max_tokens", "min_tokens", "ignore_eos")


@pytest.fixture(scope="module")
def throughput() -> ModuleType:
    """The script as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("throughput_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def run_benchmark(throughput: ModuleType, tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "throughput.json"
    assert throughput.main([*args, "--json", str(out)]) == 0
    return json.loads(out.read_text(encoding="utf-8"))


def without_raw_only_fields(body: dict[str, Any]) -> str:
    return json.dumps(
        {key: value for key, value in body.items() if key not in RAW_ONLY_FIELDS}, sort_keys=True
    )


def test_replay_and_raw_send_exactly_the_debates_requests(throughput: ModuleType, tmp_path: Path) -> None:
    with FakeOpenAIServer(throughput.varied_answers()) as server:
        result = run_benchmark(
            throughput, tmp_path, "--base-url", server.base_url, "--questions", "3", "--concurrency", "3"
        )

    debate, replay, raw = (result["phases"][name] for name in ("debate", "replay", "raw"))
    tokens_per_answer = len(throughput.varied_answers()([]).split())  # the server counts words as tokens
    assert debate["requests"] == replay["requests"] == raw["requests"] >= 3 * 3  # 3 debaters, >= 1 round
    assert debate["output_tokens"] == debate["requests"] * tokens_per_answer
    assert replay["output_tokens"] == raw["output_tokens"] == debate["output_tokens"]
    assert result["ratio"] == pytest.approx(debate["output_tokens_per_s"] / raw["output_tokens_per_s"])

    # what the server saw: one warm-up request, then the debate's requests, then them again twice
    requests = debate["requests"]
    assert len(server.chat_bodies) == 1 + 3 * requests
    debate_bodies = server.chat_bodies[1 : 1 + requests]
    replay_bodies = server.chat_bodies[1 + requests : 1 + 2 * requests]
    raw_bodies = server.chat_bodies[1 + 2 * requests :]
    as_json = partial(json.dumps, sort_keys=True)
    assert sorted(map(as_json, replay_bodies)) == sorted(map(as_json, debate_bodies))
    assert sorted(map(without_raw_only_fields, raw_bodies)) == sorted(
        map(without_raw_only_fields, debate_bodies)
    )
    for body in raw_bodies:  # each raw request asks vLLM for exactly what its debate request got
        assert body["max_tokens"] == body["min_tokens"] == tokens_per_answer
        assert body["ignore_eos"] is True


def test_backend_uri_and_no_ignore_eos_for_servers_other_than_vllm(
    throughput: ModuleType, tmp_path: Path
) -> None:
    with FakeOpenAIServer(throughput.varied_answers()) as server:
        result = run_benchmark(
            throughput,
            tmp_path,
            "--backend",
            f"openai://{server.address}",
            "--questions",
            "1",
            "--no-ignore-eos",
        )

    assert result["phases"]["raw"]["requests"] == result["phases"]["debate"]["requests"] > 0
    assert not any("ignore_eos" in body or "min_tokens" in body for body in server.chat_bodies)


def test_self_test_runs_against_its_own_stand_in_server(throughput: ModuleType, tmp_path: Path) -> None:
    result = run_benchmark(throughput, tmp_path, "--self-test", "--questions", "2")

    assert result["target"].startswith("openai:http://127.0.0.1:")
    assert result["phases"]["debate"]["details"]["debates"] == 2
    assert result["ratio"] > 0


def test_transformers_raw_loop_generates_the_debates_token_counts(
    throughput: ModuleType, tmp_path: Path, tiny_model_dir: Path
) -> None:
    result = run_benchmark(
        throughput, tmp_path, "--transformers", str(tiny_model_dir), "--questions", "2", "--max-tokens", "8"
    )

    debate, raw = result["phases"]["debate"], result["phases"]["raw"]
    assert debate["requests"] == raw["requests"] >= 2 * 3
    assert raw["output_tokens"] == debate["output_tokens"] > 0
    assert debate["output_tokens"] <= 8 * debate["requests"]
    assert raw["wall_s"] > 0 and result["ratio"] > 0


def test_demo_without_a_built_model_says_how_to_build_it(
    throughput: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEBATE_HOME", str(tmp_path))

    with pytest.raises(SystemExit, match="debate model build-demo"):
        throughput.main(["--demo"])
