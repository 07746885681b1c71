"""Where ``debate run``'s CPU goes, by library: a pyinstrument profile of the CLI, grouped.

Runs ``python -m debate run benchmarks/rcr_fixed.py`` under pyinstrument (as
``run_cli.py`` runs it: N questions, ``--concurrency C``, the local
OpenAI-compatible server of ``_fake_server.py`` or ``--backend sleep``), then
sums each function's own time by the library it lives in. Time spent in the
standard library (asyncio included) is charged to the nearest caller outside
it ("stdlib <- LangGraph" is ``dataclasses.replace``, ``typing`` and the like
called from LangGraph); time under an import is "imports (start-up)"; time
the event loop sat waiting in ``select`` is left out.

Usage::

    python benchmarks/profile_cli.py --debates 500 --concurrency 500 --backend sleep
    python benchmarks/profile_cli.py --debates 500 --run-args=--no-cohorts
    python benchmarks/profile_cli.py --load profile.pyisession      # group a saved profile again

pyinstrument samples every millisecond and slows the run down (about 1.5x);
the shares, not the seconds, are what to read.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from _fake_server import MODEL, serving
from run_cli import SCENARIO, write_dataset

LIBRARIES = [
    ("/langgraph/", "LangGraph"),
    ("/langchain_core/", "langchain_core"),
    ("/langsmith/", "langsmith"),
    ("/pydantic", "pydantic"),
    ("/tenacity/", "tenacity"),
    ("/asyncio/", "asyncio"),
    ("/agents/backends/", "debate backends (agents/backends)"),
    ("/agents/", "debate prompts (agents/)"),
    ("/debate/runner/", "debate.runner"),
    ("/debate/", "debate (graph, protocols, cohort, messages)"),
    ("/benchmarks/", "benchmark scenario"),
]


def library(path: str | None) -> str:
    for marker, name in LIBRARIES:
        if marker in (path or ""):
            return name
    if path and "site-packages/" in path:
        return path.split("site-packages/")[1].split("/")[0]
    return "stdlib"


def grouped(session_path: str) -> tuple[collections.Counter[str], float]:
    """Own time by library (stdlib charged to its caller), and the time waiting in ``select``."""
    from pyinstrument.session import Session

    own: collections.Counter[str] = collections.Counter()
    waiting = 0.0

    def walk(frame, owner: str, in_import: bool, parent_library: str) -> None:  # noqa: ANN001
        nonlocal waiting
        name = frame.function or ""
        if name in ("[await]", "[sleep]", "[idle]"):
            return
        if (frame.file_path or "").endswith("selectors.py"):
            waiting += frame.time
            return
        in_import = in_import or name == "_find_and_load"
        lib = parent_library if frame.is_synthetic else library(frame.file_path)
        if lib not in ("stdlib", "asyncio"):
            owner = lib
        self_time = frame.time - sum(child.time for child in frame.children)
        if self_time > 0:
            if in_import:
                own["imports (start-up)"] += self_time
            elif lib in ("stdlib", "asyncio"):
                own[f"{lib} <- {owner}" if owner != lib else lib] += self_time
            else:
                own[lib] += self_time
        for child in frame.children:
            walk(child, owner, in_import, lib)

    walk(Session.load(session_path).root_frame(), "event loop", False, "stdlib")
    return own, waiting


def print_groups(own: collections.Counter[str], waiting: float) -> None:
    total = sum(own.values())
    run = total - own["imports (start-up)"]
    print(f"{total:.2f} s sampled ({waiting:.2f} s waiting in select left out); shares of all / of the run:")
    for name, seconds in own.most_common():
        share_of_run = "" if name.startswith("imports") else f"{100 * seconds / run:5.1f}%"
        print(f"{100 * seconds / total:5.1f}%  {share_of_run:>6}  {seconds:6.2f} s  {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--debates", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=500)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--backend", choices=["http", "sleep"], default="http")
    parser.add_argument(
        "--run-args", default="", help="extra debate run arguments, e.g. --run-args=--no-cohorts"
    )
    parser.add_argument("--save", help="keep the pyinstrument session in this file")
    parser.add_argument("--load", help="group a saved session instead of running")
    args = parser.parse_args(argv)
    if args.load:
        print_groups(*grouped(args.load))
        return 0
    server = (
        serving(args.latency_ms / 1000, prompt_tokens=60)
        if args.backend == "http"
        else contextlib.nullcontext()
    )
    with server as port, tempfile.TemporaryDirectory(prefix="bench-profile-cli-") as directory:
        workdir = Path(directory)
        write_dataset(workdir / "questions.jsonl", args.debates)
        backend = (
            f"openai://127.0.0.1:{port}/v1?model={MODEL}"
            if port is not None
            else f"sleep:{args.latency_ms:g}"
        )
        session = args.save or str(workdir / "profile.pyisession")
        command = [
            sys.executable, "-m", "pyinstrument", "-r", "pyisession", "-o", session,
            "-m", "debate", "run", str(SCENARIO), "--data", str(workdir / "questions.jsonl"),
            "--limit", str(args.debates), "--out", str(workdir / "run"), "--backend", backend,
            "--concurrency", str(args.concurrency), "--progress", "off", *shlex.split(args.run_args),
        ]  # fmt: skip
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        print_groups(*grouped(session))
    return 0


if __name__ == "__main__":
    sys.exit(main())
