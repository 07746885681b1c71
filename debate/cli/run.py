"""``debate run``: a scenario over a dataset, into a resumable run directory."""

from __future__ import annotations

import argparse
import contextlib
import re
import sys
from typing import Any

from debate.datasets import BUILTIN_DATASETS

EXIT_OK = 0
EXIT_FAILED_DEBATES = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

DESCRIPTION = f"""\
Run a scenario on every item of a dataset, many debates at once, and write
RUN_DIR/results.jsonl (one line per debate, appended as each finishes),
manifest.json and summary.json.

Rerunning the same command resumes: debates already in results.jsonl are
skipped, so a run killed at any moment (even SIGKILL or a reboot) finishes
with every debate present exactly once. A RUN_DIR holding a different run
(other scenario, data, shard or seed) is refused unless --force.

--data takes a built-in dataset ({", ".join(BUILTIN_DATASETS)}) or a file:
.jsonl, .csv, .tsv, .parquet, .arrow, or a datasets.save_to_disk folder
(never downloaded from a hub); name its columns with the --*-field flags.
"""

EPILOG = """\
examples:
  debate run gsm8k_rcr --data gsm8k --limit 100 --out runs/rcr \\
      --backend 'openai://127.0.0.1:8000/v1?model=Qwen/Qwen2.5-7B-Instruct' --concurrency 64 --seed 0
  debate run my_crossplay.py --data quality --out runs/cross \\
      --backend openai://h1:8000/v1 --backend strong=openai://h2:8000/v1   # agents with backend="strong"
  debate run --config run.toml --shard 0/4 --out runs/part0     # machine 0 of 4, then: debate merge
  debate run --config run.toml --retry-failed                   # redo only the failed debates
  debate run --config run.toml --ray --workers 2                # two worker processes on this machine
  debate run --config run.toml --ray auto --workers 16          # on a Ray cluster (see docs/running.md)

exit status:
  0    every debate of the run is done and none failed (debates that finished without
       a valid answer are not failures: they count as wrong)
  1    the run ended with failed debates: backend errors after retries, crashes
       (see summary.json; rerun with --retry-failed), or stopped at --max-failures
  2    bad arguments, configuration or data; RUN_DIR holds a different run or is in use
  130  interrupted (Ctrl-C); rerun the same command to resume
"""

_NAMED_BACKEND = re.compile(r"^(?P<name>[A-Za-z_][\w.-]*)=(?P<uri>.+)$")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run a scenario over a dataset into a resumable run directory",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "scenario",
        nargs="?",
        help="registered scenario name (e.g. gsm8k_rcr) or path to a .py file defining `scenario`",
    )
    parser.add_argument(
        "--config", metavar="RUN_TOML", help="read the run from a TOML file; flags override its keys"
    )
    parser.add_argument("--data", help="built-in dataset name or data file (see above)")
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N items")
    parser.add_argument("--out", metavar="RUN_DIR", help="run directory (created; resumed when it exists)")
    parser.add_argument(
        "--backend",
        action="append",
        metavar="URI|NAME=URI",
        help="backend URI for agents that name none, or NAME=URI for agents with backend='NAME' (repeatable); "
        "e.g. 'openai://h1:8000/v1,h2:8000/v1?model=M', 'vllm:MODEL', 'hf:DIR', 'scripted:#### 4'",
    )
    parser.add_argument("--concurrency", type=int, metavar="K", help="debates in flight at once (default 32)")
    parser.add_argument(
        "--cohorts",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run debates started together as one LangGraph invocation (a cohort), for protocols that allow "
        "it and without --checkpoints; same results, less CPU per model call (default: on)",
    )
    parser.add_argument(
        "--cohort-size", type=int, metavar="K", help="at most K debates per cohort (default 64)"
    )
    parser.add_argument("--seed", type=int, metavar="S", help="derive every agent's sampling seed from S")
    parser.add_argument(
        "--shard", metavar="I/N", help="run only part I (0-based) of N; join parts with `debate merge`"
    )
    parser.add_argument(
        "--shard-by",
        choices=["hash", "index"],
        help="split by hash of item id (default) or position modulo N",
    )

    ray = parser.add_argument_group("more than one process: Ray (pip install 'debate-graph[ray]')")
    ray.add_argument(
        "--ray",
        nargs="?",
        const="local",
        metavar="ADDRESS",
        help="run the debates on Ray workers: no ADDRESS starts a Ray runtime on this machine; "
        "'auto' or 'ray://HOST:PORT' joins a running cluster. This process still writes RUN_DIR alone",
    )
    ray.add_argument(
        "--workers", type=int, metavar="N", help="Ray worker processes, one CPU each (default 1)"
    )
    ray.add_argument(
        "--worker-gpus",
        type=float,
        metavar="G",
        help="GPUs Ray reserves for each worker, for vllm: backends that run inside it (default 0)",
    )

    files = parser.add_argument_group("data files")
    files.add_argument("--split", help="split of a saved DatasetDict")
    files.add_argument(
        "--format", choices=["jsonl", "csv", "tsv", "parquet", "arrow", "hf"], help="override the suffix"
    )
    files.add_argument(
        "--question-field", metavar="COLUMN", help="column with the question (default: question)"
    )
    files.add_argument(
        "--gold-field", metavar="COLUMN", help="column with the gold answer (default: answer; '' for none)"
    )
    files.add_argument(
        "--gold-format",
        choices=["text", "number", "gsm8k"],
        help="read gold as is, as a number, or after '####' (default: as the scenario's answer parser "
        "reads the models' answers, so '... #### 18' is 18 for a numeric scenario)",
    )
    files.add_argument(
        "--id-field", metavar="COLUMN", help="column with stable item ids (default: row numbers)"
    )
    files.add_argument(
        "--context-field",
        action="append",
        metavar="NAME[=COLUMN]",
        help="a context field for the agents (repeatable)",
    )
    files.add_argument(
        "--metadata-field", action="append", metavar="COLUMN", help="copy a column into metadata"
    )

    resume = parser.add_argument_group("resuming and failures")
    resume.add_argument(
        "--checkpoints",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="keep LangGraph checkpoints of in-flight debates (checkpoints.sqlite) so that a restart does not "
        "repeat their finished model calls (default: off)",
    )
    resume.add_argument(
        "--retry-failed",
        action="store_true",
        help="run the failed debates again, replacing their lines (not those that finished without an answer)",
    )
    resume.add_argument("--force", action="store_true", help="start over when RUN_DIR holds a different run")
    resume.add_argument(
        "--max-failures", type=int, metavar="N", help="stop starting debates after N failures"
    )

    output = parser.add_argument_group("output")
    output.add_argument(
        "--prices", metavar="PRICES_TOML", help="'model' = [usd_per_1M_prompt, usd_per_1M_completion]"
    )
    output.add_argument(
        "--progress",
        choices=["auto", "bar", "log", "off"],
        help="bar on a terminal, one-line logs otherwise (auto)",
    )
    output.add_argument(
        "--log-every", type=float, dest="log_every_s", metavar="SECONDS", help="log interval (30)"
    )
    parser.set_defaults(func=run)


def parse_backends(values: list[str] | None) -> dict[str, str] | None:
    """``--backend URI`` -> {"default": URI}; ``--backend NAME=URI`` -> {NAME: URI} (URIs hold ':', names do not)."""
    if not values:
        return None
    from debate.graph import DEFAULT_BACKEND

    backends: dict[str, str] = {}
    for value in values:
        match = _NAMED_BACKEND.match(value)
        name, uri = (match["name"], match["uri"]) if match else (DEFAULT_BACKEND, value)
        if name in backends:
            raise ValueError(f"--backend: backend {name!r} is given twice")
        backends[name] = uri
    return backends


def field_overrides(args: argparse.Namespace) -> dict[str, Any] | None:
    fields: dict[str, Any] = {
        "question": args.question_field,
        "gold": args.gold_field,
        "gold_format": args.gold_format,
        "id": args.id_field,
        "metadata": args.metadata_field,
    }
    if args.context_field:
        fields["context"] = dict(
            (spec.split("=", 1) if "=" in spec else (spec, spec)) for spec in args.context_field
        )
    given = {key: value for key, value in fields.items() if value is not None}
    return given or None


def config_from_args(args: argparse.Namespace):  # noqa: ANN201 - RunConfig, imported lazily
    from debate.config import load_run_config

    overrides = {
        "scenario": args.scenario,
        "data": args.data,
        "limit": args.limit,
        "out": args.out,
        "backend": parse_backends(args.backend),
        "concurrency": args.concurrency,
        "seed": args.seed,
        "shard": args.shard,
        "shard_by": args.shard_by,
        "split": args.split,
        "format": args.format,
        "fields": field_overrides(args),
        "checkpoints": args.checkpoints,
        "cohorts": args.cohorts,
        "cohort_size": args.cohort_size,
        "max_failures": args.max_failures,
        "prices": args.prices,
        "progress": args.progress,
        "log_every_s": args.log_every_s,
        "ray": args.ray,
        "workers": args.workers,
        "worker_gpus": args.worker_gpus,
    }
    return load_run_config(args.config, overrides)


def allow_many_connections() -> None:
    """Raise the open-file limit to the hard limit: every model request in flight holds a socket.

    A soft limit of 1,024 (a common default) would fail a run with a few hundred debates of several
    agents in flight, since backends put no cap of their own on requests in flight.
    """
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1 << 16
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def run(args: argparse.Namespace) -> int:
    from debate.gold import GoldReader
    from debate.loading import load_scenario
    from debate.runner import RunDirBusy, run_dataset

    config = config_from_args(args)
    allow_many_connections()
    # the scenario loads before backends resolve: a scenario file may register a backend scheme
    scenario = load_scenario(config.scenario)
    everyone = [*scenario.agents, *([scenario.judge] if scenario.judge else [])]
    if not config.backend and any(agent.backend is None for agent in everyone):
        raise ValueError(
            "--backend: no backend given; pass --backend URI (e.g. 'openai://127.0.0.1:8000/v1?model=NAME' "
            "or 'scripted:#### 42') or set backend in the --config file"
        )
    # one pass before the run: the item count (for progress) and gold the answer parser cannot read
    read_gold = GoldReader.for_data(scenario.parser, config.fields)
    total = sum(1 for _ in map(read_gold, config.items()))
    if read_gold.unread is not None:
        print(f"debate run: warning: {read_gold.unread.describe()}", file=sys.stderr)
    try:
        summary = run_dataset(
            scenario,
            config.items(),
            config.out,
            backends=config.backend,
            options=config.options(),
            dataset=config.dataset_record(total, read_gold.unread),
            scenario_spec=config.scenario,
            retry_failed=args.retry_failed,
            force=args.force,
            command=["debate", *getattr(args, "argv", sys.argv[1:])],
        )
    except RunDirBusy as error:
        print(f"debate run: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"debate run: interrupted; rerun the same command to resume {config.out}", file=sys.stderr)
        return EXIT_INTERRUPTED
    cost = f", ${summary.total_cost:.2f}" if summary.total_cost is not None else ""
    print(
        f"{config.out}: {summary.outcomes_line()}, "
        f"{summary.total_tokens:,} tokens{cost}; summary in {config.out / 'summary.json'}"
    )
    if summary.no_answer:
        print(
            f"debate run: {summary.no_answer} debates finished without a valid answer and count as wrong "
            f"(not failures; reasons in summary.json), e.g. {summary.no_answers[0].reason}",
            file=sys.stderr,
        )
    if summary.failed:
        print(
            f"debate run: {summary.failed} debates failed; rerun with --retry-failed to redo them",
            file=sys.stderr,
        )
    return EXIT_OK if summary.complete and not summary.failed else EXIT_FAILED_DEBATES
