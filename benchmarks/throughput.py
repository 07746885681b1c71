"""Throughput: a debate run end to end vs raw batched generation of exactly the prompts it sent.

Three phases on one model, each timed, each reporting output tokens/s:

1. debate: a scenario (default: GSM8K with Reflect-Critique-Refine) over the
   first ``--questions`` bundled GSM8K test questions through the runner,
   ``--concurrency`` debates in flight. Every chat request it sends is
   recorded with the number of tokens that came back.
2. replay: those requests in one ``generate`` call on the same backend: no
   debate logic and no rounds waiting for each other (``--no-replay`` skips it).
3. raw: the same requests (same messages and sampling, each asking for as many
   tokens as the debate got) in the most direct way for the backend, all at
   once. Later rounds no longer wait for earlier ones, so raw is an upper bound.

The ratio debate / raw is what the framework keeps of the model's throughput
(the goal on a GPU is >= 0.90); replay / raw is the backend's own share of the
gap, debate / replay the share of the rounds' data dependency and the framework.

Backends, and what "raw" is for each:

- an OpenAI-compatible server (``--base-url URL [--model NAME]`` or
  ``--backend openai://...``): bare ``openai.AsyncOpenAI`` clients with up to
  ``--raw-concurrency`` (1024) requests in flight. vLLM is asked to ignore end-of-turn tokens so raw generates
  exactly the debate's token counts (``--no-ignore-eos`` for servers that
  reject ``ignore_eos``/``min_tokens``; both token counts are reported anyway).
- the in-process vLLM engine (``--vllm MODEL``): one ``LLM.chat`` call over
  every conversation.
- a local transformers model (``--transformers DIR``, ``--demo`` for the
  embedded demo model, or ``--backend hf:DIR``): one loop of left-padded
  ``model.generate`` batches of ``--batch-size`` (requests with the same
  sampling parameters, prompts sorted by length).
- ``--self-test``: a local stand-in server (tests/fake_openai_server.py) with
  a fixed latency per request, to check the script itself without a model.

Usage::

    vllm serve Qwen/Qwen2.5-7B-Instruct --enable-prefix-caching          # then:
    python benchmarks/throughput.py --base-url http://127.0.0.1:8000/v1 --questions 200 --concurrency 64
    python benchmarks/throughput.py --vllm Qwen/Qwen2.5-7B-Instruct --questions 200 --concurrency 64
    python benchmarks/throughput.py --demo --questions 20 --json throughput.json   # CPU
    python benchmarks/throughput.py --self-test

Model loading and warm-up are outside the timed spans; the debate's span
includes the runner's own work (run directory, manifest, results file).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from debate.agents.backends import Backend, ChatRequest, ChatResponse
from debate.agents.backends.openai import openai_sampling

REPO = Path(__file__).resolve().parents[1]
SELF_TEST_LATENCY_S = 0.02
POOL_SIZE = 16
"""Connections per raw ``AsyncOpenAI`` client."""


# -- recording what a debate run sends --------------------------------------------------


@dataclass(frozen=True)
class RecordedCall:
    """One request a debate sent, and how many tokens it got back."""

    request: ChatRequest
    completion_tokens: int


class RecordingBackend:
    """Passes requests to ``inner`` and keeps each with its completion token count, for the raw phase to replay."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls: list[RecordedCall] = []

    async def generate(self, requests: Sequence[ChatRequest]) -> list[ChatResponse]:
        responses = await self.inner.generate(requests)
        self.calls.extend(
            RecordedCall(request, response.usage.completion_tokens)
            for request, response in zip(requests, responses, strict=True)
        )
        return responses


@dataclass
class Phase:
    """One timed phase: how many requests, how many output tokens, how long."""

    name: str
    requests: int
    output_tokens: int
    wall_s: float
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def tokens_per_s(self) -> float:
        return self.output_tokens / self.wall_s if self.wall_s > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"output_tokens_per_s": self.tokens_per_s}


# -- which model, and how to reach it ----------------------------------------------------


@dataclass(frozen=True)
class Target:
    """The model under test, and how each phase reaches it; ``uri``, when given, builds the debate's backend."""

    kind: Literal["openai", "transformers", "vllm"]
    location: str | list[str]  # base URL(s), model directory, or vLLM model id/path
    model: str | None = None
    key_env: str | None = None
    max_connections: int = 256
    batch_size: int = 16
    device: str = "auto"
    engine_args: dict[str, Any] = field(default_factory=dict)
    uri: str | None = None

    def describe(self) -> str:
        where = ",".join(self.location) if isinstance(self.location, list) else self.location
        return f"{self.kind}:{where}" + (f" model={self.model}" if self.model else "")


def target_from_uri(uri: str, args: argparse.Namespace) -> Target:
    """A ``Target`` from a backend URI (``openai://``, ``openai+https://``, ``hf:``, ``vllm:``)."""
    scheme = uri.partition(":")[0]
    if scheme in ("openai", "openai+https"):
        from debate.agents.backends.openai import parse_openai_uri

        params = parse_openai_uri(uri)
        return Target(
            "openai",
            params["base_url"],
            model=params.get("model"),
            key_env=params.get("key_env"),
            max_connections=params.get("max_concurrency", args.max_connections),
            uri=uri,
        )
    if scheme == "hf":
        from debate.agents.backends.transformers import parse_hf_uri

        params = parse_hf_uri(uri)
        return Target(
            "transformers",
            params["model_path"],
            batch_size=params.get("max_batch_size", args.batch_size),
            device=params.get("device", args.device),
            uri=uri,
        )
    if scheme == "vllm":
        from debate.agents.backends.vllm import parse_vllm_uri

        params = parse_vllm_uri(uri)
        return Target("vllm", params.pop("model"), engine_args=params, uri=uri)
    raise ValueError(f"--backend {uri!r}: expected an openai://, openai+https://, hf: or vllm: URI")


def target_from_args(args: argparse.Namespace, self_test_url: str | None) -> Target:
    if self_test_url is not None:
        return Target("openai", self_test_url, max_connections=args.max_connections)
    if args.backend:
        return target_from_uri(args.backend, args)
    if args.base_url:
        return Target(
            "openai",
            args.base_url,
            model=args.model,
            key_env=args.key_env,
            max_connections=args.max_connections,
        )
    if args.vllm:
        engine_args = {
            name: value
            for name, value in (
                ("max_model_len", args.max_model_len),
                ("gpu_memory_utilization", args.gpu_memory_utilization),
            )
            if value is not None
        }
        return Target("vllm", args.vllm, engine_args=engine_args)
    if args.demo:
        from debate.demo_model import default_demo_dir

        directory = default_demo_dir()
        if not (directory / "config.json").is_file():
            raise SystemExit(
                f"--demo: no demo model in {directory}; build it first with `debate model build-demo`"
            )
        return Target("transformers", str(directory), batch_size=args.batch_size, device=args.device)
    return Target("transformers", args.transformers, batch_size=args.batch_size, device=args.device)


def debate_backend(target: Target) -> Backend:
    """The backend a user of the framework would run this model with."""
    if target.uri is not None:
        from debate.agents.backends import resolve_backend

        return resolve_backend(target.uri)
    if target.kind == "openai":
        from debate.agents.backends.openai import OpenAIBackend

        return OpenAIBackend(
            target.location, target.model, key_env=target.key_env, max_concurrency=target.max_connections
        )
    if target.kind == "transformers":
        from debate.agents.backends.transformers import backend_from_hf_uri

        return backend_from_hf_uri(
            f"hf:{target.location}?device={target.device}&max_batch_size={target.batch_size}"
        )
    from debate.agents.backends.vllm import VLLMBackend

    return VLLMBackend(str(target.location), **target.engine_args)


# -- phase 1: the debate run -------------------------------------------------------------


def benchmark_scenario(spec: str, max_tokens: int | None):  # noqa: ANN201 - a Scenario
    """The scenario to run, with every agent's ``max_tokens`` replaced when ``max_tokens`` is given."""
    from debate.loading import load_scenario

    scenario = load_scenario(spec)
    if max_tokens is None:
        return scenario

    def capped(agent):  # noqa: ANN001, ANN202 - an Agent
        return agent.model_copy(
            update={"sampling": agent.sampling.model_copy(update={"max_tokens": max_tokens})}
        )

    judge = capped(scenario.judge) if scenario.judge is not None else None
    return scenario.model_copy(
        update={"agents": [capped(agent) for agent in scenario.agents], "judge": judge}
    )


async def warm_up(backend: Backend) -> None:
    """One short request, so that lazy initialisation (kernels, connection pools) is not timed."""
    from debate.agents.backends import ChatMessage

    from debate.messages import SamplingParams

    request = ChatRequest(
        messages=[ChatMessage(role="user", content="Hello")], sampling=SamplingParams(max_tokens=4)
    )
    await backend.generate([request])


async def debate_phase(
    scenario: Any, questions: int, backend: Backend, *, concurrency: int, seed: int | None, run_dir: Path
) -> tuple[Phase, list[RecordedCall]]:
    """Run the scenario on the first ``questions`` GSM8K test items through the runner; time it, record it."""
    from debate.datasets import load_gsm8k
    from debate.runner import RunOptions, arun_dataset

    items = list(itertools.islice(load_gsm8k(split="test"), questions))
    recorder = RecordingBackend(backend)
    options = RunOptions(concurrency=concurrency, seed=seed, progress="off")
    started = time.perf_counter()
    summary = await arun_dataset(scenario, items, run_dir, backends=recorder, options=options)
    wall = time.perf_counter() - started
    phase = Phase(
        "debate",
        requests=len(recorder.calls),
        output_tokens=sum(call.completion_tokens for call in recorder.calls),
        wall_s=wall,
        details={"debates": summary.debates, "failed_debates": summary.failed, "rounds": scenario.rounds},
    )
    return phase, recorder.calls


# -- phase 2: the same requests on the same backend, without the debate -----------------


async def replay_phase(backend: Backend, calls: Sequence[RecordedCall]) -> Phase:
    """The recorded requests in one ``generate`` call on the debate's own backend: no debate, no rounds.

    It splits the gap between debate and raw in two: debate vs replay is what
    the debate's round-by-round data dependency and the framework cost;
    replay vs raw is what the backend's own client or generation loop costs.
    Its token counts are the backend's: seeded requests on the transformers
    backend give the debate's texts again, other backends may not.
    """
    started = time.perf_counter()
    responses = await backend.generate([call.request for call in calls])
    wall = time.perf_counter() - started
    tokens = sum(response.usage.completion_tokens for response in responses)
    return Phase("replay", len(calls), tokens, wall, {"method": f"{backend.name}.generate(every request)"})


# -- phase 3: the same requests, raw -----------------------------------------------------


async def raw_openai(
    calls: Sequence[RecordedCall], target: Target, *, ignore_eos: bool, concurrency: int
) -> Phase:
    """Every recorded request through bare ``openai.AsyncOpenAI`` clients, ``concurrency`` in flight.

    Each endpoint gets several clients with pools of ``POOL_SIZE``, requests
    spread over them in turn: one pool sized to hundreds of connections costs
    the client more CPU per request than the requests themselves (see
    docs/benchmarks.md, "HTTP client overhead").
    """
    import openai
    from debate.agents.backends.openai import NO_KEY, read_api_key

    key = read_api_key(target.key_env)
    urls = target.location if isinstance(target.location, list) else [target.location]
    limits = type(openai.DEFAULT_CONNECTION_LIMITS)(
        max_connections=POOL_SIZE, max_keepalive_connections=POOL_SIZE
    )
    pools_per_url = max(1, -(-min(concurrency, len(calls)) // (POOL_SIZE * len(urls))))
    clients = [
        openai.AsyncOpenAI(
            base_url=url,
            api_key=key.get_secret_value() if key else NO_KEY,
            max_retries=0,
            timeout=600.0,
            http_client=openai.DefaultAsyncHttpxClient(limits=limits, timeout=600.0),
        )
        for _ in range(pools_per_url)
        for url in urls
    ]
    slots = asyncio.Semaphore(concurrency)
    try:
        model = target.model or (await clients[0].models.list()).data[0].id

        async def send(index: int, call: RecordedCall) -> int:
            sampling = openai_sampling(call.request.sampling)
            wanted = max(call.completion_tokens, 1)
            extra = {"extra_body": {"ignore_eos": True, "min_tokens": wanted}} if ignore_eos else {}
            async with slots:
                completion = await clients[index % len(clients)].chat.completions.create(
                    model=call.request.model or model,
                    messages=call.request.chat(),  # type: ignore[arg-type]
                    **(sampling | {"max_tokens": wanted}),
                    **extra,
                )
            return completion.usage.completion_tokens if completion.usage else 0

        started = time.perf_counter()
        tokens = await asyncio.gather(*(send(index, call) for index, call in enumerate(calls)))
        wall = time.perf_counter() - started
    finally:
        for client in clients:
            await client.close()
    method = f"AsyncOpenAI x {len(clients)}, {concurrency} requests in flight"
    return Phase("raw", len(calls), sum(tokens), wall, {"method": method})


def raw_transformers(calls: Sequence[RecordedCall], target: Target) -> Phase:
    """One loop of left-padded ``model.generate`` batches over the recorded prompts, shortest first.

    Each batch generates as many tokens as its longest recorded completion,
    with end-of-turn suppressed (``min_new_tokens``); a row counts the tokens
    its request got in the debate, so both phases count the same tokens.
    """
    import torch
    from debate.agents.backends.transformers import group_by_sampling, model_directory, resolve_device
    from transformers import AutoModelForCausalLM, AutoTokenizer

    directory = model_directory(str(target.location))
    device = resolve_device(target.device)
    tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
    tokenizer.padding_side = "left"
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(directory, local_files_only=True).to(device).eval()
    context = getattr(model.config, "max_position_embeddings", None)
    prompts = [
        tokenizer.apply_chat_template(
            call.request.chat(), tokenize=False, add_generation_prompt=True
        )
        for call in calls
    ]
    batches = []
    for indices in group_by_sampling(
        [call.request for call in calls]
    ).values():  # a batch shares its sampling
        order = sorted(indices, key=lambda index: len(prompts[index]))
        batches += [
            order[start : start + target.batch_size] for start in range(0, len(order), target.batch_size)
        ]

    def generate(rows: list[int], new_tokens: int) -> int:
        inputs = tokenizer(
            [prompts[row] for row in rows], return_tensors="pt", padding=True, add_special_tokens=False
        )
        width = inputs["input_ids"].shape[1]
        room = min(new_tokens, context - width) if context else new_tokens
        sampling = calls[rows[0]].request.sampling
        sample = sampling.temperature > 0
        output = model.generate(
            **inputs.to(device),
            max_new_tokens=room,
            min_new_tokens=room,
            do_sample=sample,
            temperature=sampling.temperature if sample else None,
            top_p=sampling.top_p if sample else None,
            top_k=0,  # generate's default top-k of 50 would sample differently from the debate (and cost less)
            pad_token_id=tokenizer.pad_token_id,
        )
        steps = output.shape[1] - width
        return sum(min(calls[row].completion_tokens, steps) for row in rows)

    with torch.inference_mode():
        generate(batches[0][:1], 4)  # warm-up, not timed
        started = time.perf_counter()
        tokens = sum(
            generate(rows, max(calls[row].completion_tokens for row in rows) or 1) for rows in batches
        )
        wall = time.perf_counter() - started
    return Phase(
        "raw", len(calls), tokens, wall, {"method": f"model.generate, batches of {target.batch_size}"}
    )


def raw_vllm(calls: Sequence[RecordedCall], target: Target) -> Phase:
    """One ``LLM.chat`` call over every recorded conversation, each forced to its recorded length."""
    from vllm import LLM, SamplingParams

    llm = LLM(model=str(target.location), **({"enable_prefix_caching": True} | target.engine_args))
    params = [
        SamplingParams(
            temperature=call.request.sampling.temperature,
            top_p=call.request.sampling.top_p,
            seed=call.request.sampling.seed,
            max_tokens=max(call.completion_tokens, 1),
            min_tokens=max(call.completion_tokens, 1),
            ignore_eos=True,
        )
        for call in calls
    ]
    llm.generate(["Hello"], SamplingParams(max_tokens=4), use_tqdm=False)  # warm-up, not timed
    started = time.perf_counter()
    outputs = llm.chat([call.request.chat() for call in calls], params, use_tqdm=False)
    wall = time.perf_counter() - started
    tokens = sum(len(choice.token_ids) for output in outputs for choice in output.outputs)
    return Phase("raw", len(calls), tokens, wall, {"method": "LLM.chat over every conversation"})


# -- the self-test server ----------------------------------------------------------------


def varied_answers() -> Callable[[list[dict[str, Any]]], str]:
    """GSM8K-shaped replies whose numbers cycle through 0, 1, 2, so debates disagree and go on for rounds."""
    numbers = itertools.cycle(range(3))
    return lambda messages: (
        f"Let me work through the problem step by step and check each step twice.\n#### {next(numbers)}"
    )


@contextmanager
def self_test_server() -> Iterator[str]:
    """A local OpenAI-compatible stand-in that answers after a fixed latency; yields its base URL."""
    if str(REPO / "tests") not in sys.path:
        sys.path.insert(0, str(REPO / "tests"))
    from fake_openai_server import FakeOpenAIServer

    with FakeOpenAIServer(varied_answers(), delay_s=SELF_TEST_LATENCY_S) as server:
        yield server.base_url


# -- main --------------------------------------------------------------------------------


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for package in ("debate", "langgraph", "torch", "transformers", "openai", "vllm"):
        with suppress(PackageNotFoundError):
            found[package] = version(package)
    return found


async def run_debate_phases(
    args: argparse.Namespace, target: Target, run_dir: Path
) -> tuple[list[Phase], list[RecordedCall]]:
    """The debate (and its replay) in one event loop; the backend is closed (vLLM shut down) before raw starts."""
    scenario = benchmark_scenario(args.scenario, args.max_tokens)
    backend = debate_backend(target)
    try:
        await warm_up(backend)
        debate, calls = await debate_phase(
            scenario, args.questions, backend, concurrency=args.concurrency, seed=args.seed, run_dir=run_dir
        )
        replay = [await replay_phase(backend, calls)] if args.replay and calls else []
        return [debate, *replay], calls
    finally:
        close = getattr(backend, "aclose", None) or getattr(backend, "shutdown", None)
        if close is not None and asyncio.iscoroutine(closed := close()):
            await closed


def run_raw_phase(
    calls: Sequence[RecordedCall], target: Target, *, ignore_eos: bool, concurrency: int
) -> Phase:
    if target.kind == "openai":
        return asyncio.run(raw_openai(calls, target, ignore_eos=ignore_eos, concurrency=concurrency))
    if target.kind == "transformers":
        return raw_transformers(calls, target)
    return raw_vllm(calls, target)


def compare(args: argparse.Namespace, target: Target, run_dir: Path) -> dict[str, Any]:
    """Every phase on ``target``, and what to report about them."""
    phases, calls = asyncio.run(run_debate_phases(args, target, run_dir))
    if not calls:
        raise SystemExit(
            f"the debate phase sent no requests (does {run_dir} hold a finished run?); nothing to compare"
        )
    phases.append(run_raw_phase(calls, target, ignore_eos=args.ignore_eos, concurrency=args.raw_concurrency))
    debate, raw = phases[0], phases[-1]
    notes = []
    if target.kind == "openai":
        notes.append(
            "raw runs after the debate: with prefix caching on, the server may already hold its prompts"
        )
    if raw.output_tokens != debate.output_tokens:
        notes.append(
            f"token counts differ (debate {debate.output_tokens}, raw {raw.output_tokens}): the backend did not "
            "generate exactly the requested lengths; compare tokens/s, not wall time"
        )
    return {
        "target": target.describe(),
        "scenario": args.scenario,
        "questions": args.questions,
        "concurrency": args.concurrency,
        "phases": {phase.name: phase.as_dict() for phase in phases},
        "ratio": debate.tokens_per_s / raw.tokens_per_s if raw.tokens_per_s else None,
        "notes": notes,
        "machine": {"processor": platform.processor() or platform.machine(), "cpus": os.cpu_count()},
        "torch_threads": args.threads,
        "versions": versions(),
    }


def print_table(result: dict[str, Any]) -> None:
    print(
        f"{result['target']}, {result['scenario']}, {result['questions']} questions, concurrency {result['concurrency']}"
    )
    print(f"{'phase':<7} {'requests':>9} {'output tokens':>14} {'wall s':>9} {'output tok/s':>13}")
    for name, phase in result["phases"].items():
        print(
            f"{name:<7} {phase['requests']:>9} {phase['output_tokens']:>14} {phase['wall_s']:>9.2f} "
            f"{phase['output_tokens_per_s']:>13.1f}"
        )
    raw = result["phases"]["raw"]["output_tokens_per_s"]
    for name, phase in result["phases"].items():
        if name != "raw" and raw:
            print(f"{name} / raw output tok/s: {phase['output_tokens_per_s'] / raw:.3f}")
    for note in result["notes"]:
        print(f"note: {note}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    model = parser.add_mutually_exclusive_group(required=True)
    model.add_argument("--base-url", help="an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1")
    model.add_argument("--backend", help="a backend URI: openai://HOST:PORT/v1?model=..., hf:DIR, vllm:MODEL")
    model.add_argument("--vllm", metavar="MODEL", help="vLLM's in-process engine on this model (needs a GPU)")
    model.add_argument(
        "--transformers", metavar="DIR", help="a local Hugging Face model directory, on transformers"
    )
    model.add_argument("--demo", action="store_true", help="the embedded demo model, on transformers")
    model.add_argument(
        "--self-test", action="store_true", help="a local stand-in server; checks the script only"
    )
    parser.add_argument("--model", help="model name for --base-url (default: the server's only model)")
    parser.add_argument("--key-env", help="environment variable holding the API key for --base-url")
    parser.add_argument(
        "--scenario", default="gsm8k_rcr", help="scenario name or .py path (default: gsm8k_rcr)"
    )
    parser.add_argument(
        "--questions", type=int, default=20, help="GSM8K test questions to debate (default: 20)"
    )
    parser.add_argument("--concurrency", type=int, default=64, help="debates in flight (default: 64)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed of the run (default: 0)")
    parser.add_argument("--max-tokens", type=int, help="override every agent's max_tokens")
    parser.add_argument("--max-connections", type=int, default=256, help="OpenAI backend's concurrency cap")
    parser.add_argument(
        "--raw-concurrency",
        type=int,
        default=1024,
        help="raw requests in flight at an OpenAI server (default: 1024)",
    )
    parser.add_argument("--batch-size", type=int, default=16, help="transformers batch size, both phases")
    parser.add_argument("--device", default="auto", help="transformers device (default: auto)")
    parser.add_argument(
        "--threads", type=int, help="torch CPU threads, both phases (default: torch's choice)"
    )
    parser.add_argument("--max-model-len", type=int, help="vLLM engine max_model_len")
    parser.add_argument("--gpu-memory-utilization", type=float, help="vLLM engine gpu_memory_utilization")
    parser.add_argument(
        "--no-ignore-eos",
        dest="ignore_eos",
        action="store_false",
        help="do not send vLLM's ignore_eos/min_tokens in the raw phase (for servers that reject them)",
    )
    parser.add_argument(
        "--no-replay",
        dest="replay",
        action="store_false",
        help="skip the replay phase (every recorded request at once through the debate's own backend)",
    )
    parser.add_argument(
        "--run-dir", type=Path, help="keep the debate's run directory here (default: a temp dir)"
    )
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    if min(args.questions, args.concurrency, args.batch_size, args.raw_concurrency) < 1:
        parser.error("--questions, --concurrency, --raw-concurrency and --batch-size must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="throughput-") as scratch:
        run_dir = args.run_dir or Path(scratch) / "run"
        if args.self_test:
            with self_test_server() as url:
                result = compare(args, target_from_args(args, url), run_dir)
        else:
            result = compare(args, target_from_args(args, None), run_dir)
    result["command"] = ["benchmarks/throughput.py", *(argv if argv is not None else sys.argv[1:])]
    print_table(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
