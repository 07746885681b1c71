"""``debate demo`` in Python: does a debate beat one agent? The testbed's answer on the embedded model.

Read top to bottom, a demo is:

1. Make sure there is a model: the embedded demo model is built (minutes, on
   the CPU) when its directory does not hold a finished one.
2. Run the baseline ``arithmetic_single`` and the debate ``arithmetic_rcr`` on
   the first problems of the ``arithmetic`` test split, each into its own run
   directory. They are ordinary runs: rerunning reuses every finished debate.
3. Compare them problem by problem (``compare_with_baseline``): the single
   agent, the debaters alone in round 0, the majority vote after each round,
   the debate's final answer, and the two differences that say whether
   debating helps (against one agent, and against voting without debating),
   each with a bootstrap interval over problems.
4. Write ``demo.json`` and the HTML report of both runs.

::

    from debate.demo import format_table, run_demo

    demo = run_demo("runs/demo", items=100)
    print(format_table(demo))
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from debate import demo_model
from debate.agents.backends import Backend
from debate.arithmetic import SPLIT_SIZES, load_arithmetic
from debate.metrics import Estimate, bootstrap_ci
from debate.summary import round_outcomes
from debate.transcript import DebateResult, Outcome, load_results

if TYPE_CHECKING:
    from debate.runner.progress import ProgressMode

BASELINE = "arithmetic_single"
DEBATE = "arithmetic_rcr"
DATASET = "arithmetic"
"""What ``debate run --data`` calls these problems: either command resumes the other's runs."""

MAX_BATCH_SIZE = 128
"""Sequences the embedded model generates at once: big batches are what make a CPU fast enough."""

DEFAULT_CONCURRENCY = 256
"""Debates in flight: enough that the model's batches fill (3 debaters each in ``arithmetic_rcr``)."""

NUMBERS_FILE = "demo.json"
"""The demo directory's copy of every number printed (``DemoResult``)."""

MODEL_FILE = "model.json"
"""Which model the runs in the demo directory belong to; a different one starts them over."""


class Comparison(BaseModel):
    """The debate against its baselines on the same problems; every estimate is a mean over problems.

    The differences are paired: problems are resampled jointly, so the
    interval is about the gain, not about how hard the sample happens to be.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    single: Estimate
    """One agent answering once, greedily."""
    round_zero_each_agent: Estimate
    """A debater on its own: the share of round-0 answers that are right (each problem weighs the same)."""
    majority_per_round: list[Estimate]
    """The debaters' majority vote after each round; a debate that stopped early keeps its last round's."""
    debate: Estimate
    """The debate's final answer."""
    debate_minus_single: Estimate
    debate_minus_round_zero_majority: Estimate
    """What debating adds to voting over the same first answers."""


class DemoResult(BaseModel):
    """What ``debate demo`` found and where it put it; ``demo.json`` (``NUMBERS_FILE``) holds one."""

    model_config = ConfigDict(extra="forbid")

    out: Path
    """The demo directory: the runs, ``demo.json`` and ``report/``."""
    model: str
    """The backend the agents used (an ``hf:`` URI for the embedded model)."""
    items: int
    seed: int
    accuracy: Comparison
    runs: dict[str, Path]
    """Scenario name -> its run directory."""
    no_answer: dict[str, int]
    """Scenario name -> debates that ended without a valid answer (counted as wrong)."""
    failed: dict[str, int]
    """Scenario name -> debates that failed (counted as wrong; the next ``run_demo`` retries them)."""
    report: Path | None
    """The HTML report, or None when matplotlib is missing."""
    wall_time_s: float


def ensure_demo_model(
    model_dir: str | Path | None = None, *, rebuild: bool = False, progress: ProgressMode | bool = True
) -> Path:
    """The model directory to debate with, built first when it needs to be.

    The default directory is the framework's cache, so anything in it other
    than a finished demo model of the current format is rebuilt. A directory
    the user names is theirs (a model ``debate evolve`` trained, say): it is
    built only when it is missing or empty, or when ``rebuild`` asks.
    """
    path = Path(model_dir).expanduser() if model_dir is not None else demo_model.default_demo_dir()
    if model_dir is None:
        needed = not demo_model.demo_model_ready(path)
    else:
        needed = not path.exists() or not any(path.iterdir())
    if not (needed or rebuild):
        return path
    from debate.runner.progress import resolve_mode

    progress = resolve_mode(progress)
    if progress != "off":
        why = (
            "a rebuild was asked for" if rebuild else "it holds no finished demo model of the current format"
        )
        print(f"debate demo: building the demo model in {path} ({why}); this takes minutes", file=sys.stderr)
    build = demo_model.build_demo_model(path, progress=progress)
    if progress != "off":
        print(
            f"debate demo: built {build.parameters / 1e6:.1f}M parameters in {build.seconds:.0f} s",
            file=sys.stderr,
        )
    return build.path


def served_model_uri(model_dir: Path) -> str:
    """The ``hf:`` URI the demo serves a model directory with: in process, in large batches."""
    return f"hf:{model_dir}?max_batch_size={MAX_BATCH_SIZE}"


def run_demo(
    out: str | Path | None = None,
    *,
    items: int = 300,
    seed: int = 0,
    model_dir: str | Path | None = None,
    rebuild: bool = False,
    backend: Backend | str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    progress: ProgressMode = "auto",
    command: Sequence[str] = (),
) -> DemoResult:
    """Run the baseline and the debate on the first ``items`` test problems into ``out`` and compare them.

    ``out`` defaults to ``$DEBATE_HOME/demo-runs``. The agents debate on the
    embedded demo model (``model_dir``, built when needed: ``ensure_demo_model``)
    unless ``backend`` names another one, which is then used as it is. ``seed``
    seeds the agents' sampling and the bootstrap. ``command`` is recorded in
    the runs' manifests.
    """
    from debate.loading import load_scenario
    from debate.runner import DatasetRecord, RunDir, RunOptions, run_dataset
    from debate.runner.manifest import describe_backends

    started = time.perf_counter()
    if not 1 <= items <= SPLIT_SIZES["test"]:
        raise ValueError(
            f"items: expected 1 to {SPLIT_SIZES['test']} (the arithmetic test split), got {items}"
        )
    if backend is not None and (model_dir is not None or rebuild):
        raise ValueError(
            "backend: debates on the backend as it is; model_dir and rebuild (--model, --rebuild) "
            "are for a local model directory: give one or the other"
        )
    out = Path(out).expanduser() if out is not None else demo_model.debate_home() / "demo-runs"
    if backend is None:
        path = ensure_demo_model(model_dir, rebuild=rebuild, progress=progress)
        backend, fingerprint = served_model_uri(path), _directory_fingerprint(path)
    else:
        fingerprint = None
    model_name = describe_backends(backend)["default"]
    _start_over_if_the_model_changed(out, {"model": model_name, "fingerprint": fingerprint}, progress)

    problems = list(load_arithmetic("test", limit=items))
    problem_ids = [problem.id for problem in problems]
    dataset = DatasetRecord(source=DATASET, items=items, limit=items)
    options = RunOptions(concurrency=concurrency, seed=seed, progress=progress)
    runs, no_answer, failed, results = {}, {}, {}, {}
    for name in (BASELINE, DEBATE):
        if progress != "off":
            print(f"debate demo: {name} on {items} problems", file=sys.stderr)
        runs[name] = out / name
        run_dataset(
            load_scenario(name),
            problems,
            runs[name],
            backends=backend,
            options=options,
            dataset=dataset,
            scenario_spec=name,
            retry_failed=True,
            force=True,  # another seed starts over; the old files are kept in a replaced-* folder
            command=command,
        )
        # the directory may hold more problems, from an earlier demo over more of them
        results[name] = _in_item_order(load_results(RunDir(runs[name]).results), problem_ids, runs[name])
        no_answer[name] = sum(result.outcome is Outcome.NO_ANSWER for result in results[name])
        failed[name] = sum(result.outcome is Outcome.FAILED for result in results[name])

    scenario = load_scenario(DEBATE)
    accuracy = compare_with_baseline(
        results[BASELINE], results[DEBATE], debaters=len(scenario.agents), rounds=scenario.rounds, seed=seed
    )
    report = _write_report([runs[BASELINE], runs[DEBATE]], out / "report")
    demo = DemoResult(
        out=out,
        model=model_name,
        items=items,
        seed=seed,
        accuracy=accuracy,
        runs=runs,
        no_answer=no_answer,
        failed=failed,
        report=report,
        wall_time_s=time.perf_counter() - started,
    )
    (out / NUMBERS_FILE).write_text(demo.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return demo


def compare_with_baseline(
    single: Sequence[DebateResult],
    debate: Sequence[DebateResult],
    *,
    debaters: int,
    rounds: int,
    seed: int = 0,
    level: float = 0.95,
) -> Comparison:
    """Accuracy of the debate and of its baselines, ``single[i]`` and ``debate[i]`` being the same problem.

    Per-round votes come from ``debate.summary.round_outcomes``, the numbers
    ``summary.json`` adds up. Debates that failed or found no answer are wrong,
    as there; a debater that did not answer in round 0 is a wrong answer of
    the ``debaters`` on that problem.
    """
    if len(single) != len(debate) or not single:
        raise ValueError(
            f"single, debate: expected the same problems, got {len(single)} and {len(debate)} results"
        )

    def estimate(values: Iterable[float]) -> Estimate:
        return bootstrap_ci(list(values), level=level, seed=seed)

    single_right = [float(result.correct is True) for result in single]
    debate_right = [float(result.correct is True) for result in debate]
    votes = [round_outcomes(result, rounds) for result in debate]
    first_answers = [
        sum(m.answer is not None and m.answer == result.gold for m in result.transcript.debater_answers(0))
        / debaters
        for result in debate
    ]
    round_zero_majority = [float(outcomes[0].majority_correct) for outcomes in votes]
    return Comparison(
        single=estimate(single_right),
        round_zero_each_agent=estimate(first_answers),
        majority_per_round=[
            estimate(outcomes[r].majority_correct for outcomes in votes) for r in range(rounds)
        ],
        debate=estimate(debate_right),
        debate_minus_single=estimate(d - s for d, s in zip(debate_right, single_right, strict=True)),
        debate_minus_round_zero_majority=estimate(
            d - m for d, m in zip(debate_right, round_zero_majority, strict=True)
        ),
    )


def format_table(demo: DemoResult) -> str:
    """The comparison as ``debate demo`` prints it: accuracy in percent, differences in points."""
    accuracy = demo.accuracy
    percent = [
        ("single agent", accuracy.single),
        ("debate round 0, a debater alone", accuracy.round_zero_each_agent),
        *(
            (f"debate round {round_}, majority vote", estimate)
            for round_, estimate in enumerate(accuracy.majority_per_round)
        ),
        ("debate final answer", accuracy.debate),
    ]
    points = [
        ("debate - single", accuracy.debate_minus_single),
        ("debate - round-0 majority vote", accuracy.debate_minus_round_zero_majority),
    ]
    width = max(len(label) for label, _ in percent + points)

    def row(label: str, value: str, interval: str, n: object) -> str:
        return f"{label:{width}}  {value:>9}  {interval:<16}{n:>5}"

    lines = [
        f"{BASELINE} vs {DEBATE} on the first {demo.items} arithmetic test problems, "
        f"seed {demo.seed}, model {demo.model}",
        "",
        row("", "accuracy", "95% interval", "n"),
    ]
    for label, e in percent:
        lines.append(row(label, f"{100 * e.value:.1f}%", f"[{100 * e.low:.1f}, {100 * e.high:.1f}]", e.n))
    lines.append("")
    for label, e in points:
        lines.append(
            row(label, f"{100 * e.value:+.1f} pts", f"[{100 * e.low:+.1f}, {100 * e.high:+.1f}]", e.n)
        )
    unanswered = {name: count for name, count in demo.no_answer.items() if count}
    if unanswered:
        counts = ", ".join(f"{name} {count}" for name, count in unanswered.items())
        lines += ["", f"without a valid answer (counted as wrong): {counts}"]
    return "\n".join(lines)


def _in_item_order(
    results: Iterable[DebateResult], item_ids: Sequence[str], run_dir: Path
) -> list[DebateResult]:
    """The results of ``item_ids`` in that order; a debate's first line counts, as in the run's summary."""
    by_item: dict[str, DebateResult] = {}
    for result in results:
        by_item.setdefault(result.metadata.get("item_id", ""), result)
    missing = [item_id for item_id in item_ids if item_id not in by_item]
    if missing:
        raise ValueError(f"{run_dir}: no results for {len(missing)} problems, e.g. {missing[0]}")
    return [by_item[item_id] for item_id in item_ids]


def _directory_fingerprint(directory: Path) -> str:
    """Changes whenever a file of ``directory`` is written: a rebuilt model is another model, same path."""
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            stat = path.stat()
            digest.update(f"{path.relative_to(directory)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def _start_over_if_the_model_changed(out: Path, model: dict[str, str | None], progress: ProgressMode) -> None:
    """Set the runs aside when they were made by another model: a demo never mixes two models' answers.

    A run directory resumes whatever its backend URI says, and a rebuilt
    model keeps its path, so the demo records which model its runs are of.
    """
    from debate.runner import RunDir

    marker = out / MODEL_FILE
    previous = json.loads(marker.read_text(encoding="utf-8")) if marker.exists() else model
    if previous != model:
        for name in (BASELINE, DEBATE):
            run_dir = RunDir(out / name)
            if not run_dir.path.exists():
                continue
            run_dir.lock()
            try:
                moved = run_dir.set_aside()
            finally:
                run_dir.unlock()
            if moved is not None and progress != "off":
                print(
                    f"debate demo: the model changed; moved the earlier {name} run to {moved}",
                    file=sys.stderr,
                )
    out.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps(model, indent=2) + "\n", encoding="utf-8")


def _write_report(run_dirs: Sequence[Path], out: Path) -> Path | None:
    try:
        from debate.report import write_report

        return write_report(run_dirs, out)
    except ImportError as error:
        print(f"debate demo: no HTML report: {error}", file=sys.stderr)
        return None
