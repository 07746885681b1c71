"""Running a scenario over a dataset: many debates in flight, every result on disk as it finishes.

Read top to bottom, a run is:

1. Lock the run directory, check (or write) the manifest, cut a torn last line.
2. Read which debates ``results.jsonl`` already holds; with ``retry_failed``,
   drop the failed ones so they run again.
3. Compile the scenario's graph once; stream the items, read each one's gold
   with the scenario's answer parser (``debate.gold``), and start a debate for
   each one not done yet, at most ``concurrency`` at a time. An item is read
   only when a slot is free, and a result is appended (and forgotten) as soon
   as its debate ends, so memory does not grow with the dataset.
4. A debate that raises (a backend that still fails after its retries, a bug)
   is recorded as failed, with its error; one that ends without a valid
   answer is recorded as such (outcome ``no_answer``), with the parsers'
   reasons, and is not a failure. Either way the run goes on.
5. Write ``summary.json`` from the results file.

Debates of one round call the backend concurrently, and so do debates of
different items, so a batching server (vLLM) sees up to ``concurrency`` times
the number of agents requests at once; per-backend limits live in the backends.
Killing the process at any moment loses at most the debates in flight: the
same call resumes. With ``checkpoints`` on, those debates resume from their
last LangGraph step instead of from scratch.

Without checkpoints, debates of round protocols (rcr, simultaneous and the
like) that start together run as a cohort (``debate.cohort``): one LangGraph
invocation advances all of them, round by round, and each leaves it (and
frees its slot) as soon as it ends. Results are the same as with one graph
per debate; the CPU per model call is several times lower.

Where the debates run is the one thing that varies: in this process (the
default), or, with ``ray``, in ``workers`` Ray worker processes that stream
their results back to this one (``debate.runner.ray_workers``). Either way
this process alone reads the items and writes the run directory, so resume
and exactly-once results work the same.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence, Sized
from contextlib import aclosing, asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

from langgraph.graph.state import CompiledStateGraph
from pydantic import BaseModel, ConfigDict, Field, NonNegativeFloat, ValidationInfo, field_validator

from debate.agents.backends import Backend, resolve_backend
from debate.checkpoint import sqlite_checkpointer
from debate.cohort import CohortDebate, Finished, compile_cohort, run_cohort
from debate.datasets import Item
from debate.gc_tuning import relaxed_gc
from debate.gold import GoldReader
from debate.graph import DEFAULT_BACKEND, compile_debate
from debate.messages import Message
from debate.run import arun_debate, debate_id_for, debate_result, initial_state
from debate.runner.manifest import DatasetRecord, RunManifest, build_manifest, continue_manifest
from debate.runner.progress import Progress, ProgressMode, quiet_library_bars, resolve_mode
from debate.runner.run_dir import FinishedDebate, ResultWriter, RunDir
from debate.runner.run_summary import RunDirSummary, run_dir_summary
from debate.runner.seeding import with_seed
from debate.scenario import Scenario
from debate.summary import SummaryBuilder
from debate.transcript import DebateResult, Outcome, Transcript, load_results

Backends = Backend | str | Mapping[str, Backend | str]
Prices = dict[str, tuple[NonNegativeFloat, NonNegativeFloat]]

FAILURES_LOGGED = 5
"""Failures logged one by one; the rest are counted (all are in results.jsonl)."""


class RunOptions(BaseModel):
    """How to run (not what): the same debates come out whatever these are, except ``seed``.

    - ``concurrency``: debates in flight at once.
    - ``seed``: gives each agent a sampling seed derived from it and the agent's
      name (agents whose scenario sets a seed keep theirs); recorded on every message.
    - ``checkpoints``: keep LangGraph checkpoints of in-flight debates in
      ``checkpoints.sqlite``, so a killed run does not repeat finished model calls.
    - ``max_failures``: stop starting debates once this many failed in this invocation
      (a dead server should not burn through the whole dataset).
    - ``prices``: model -> (USD per 1M prompt tokens, USD per 1M completion tokens).
    - ``cohorts``: run debates in cohorts (``debate.cohort``: one LangGraph invocation for many
      debates) where the protocol allows and ``checkpoints`` is off; False: one graph per debate.
    - ``cohort_size``: the most debates in one cohort. Debates start together when slots are free,
      in cohorts of at most this many; smaller cohorts let one cohort's model calls overlap another's
      CPU work, larger ones spread LangGraph's cost per invocation over more debates.
    - ``ray``: run the debates on Ray workers: ``"local"`` starts a Ray runtime on this
      machine, ``"auto"`` or ``"ray://HOST:PORT"`` joins a running cluster.
    - ``workers``: Ray worker processes (one CPU each), each with ``concurrency`` debates in flight.
    - ``worker_gpus``: GPUs Ray reserves for each worker (for ``vllm:`` backends, which run in the worker).
    """

    model_config = ConfigDict(extra="forbid")

    concurrency: int = Field(default=32, ge=1)
    seed: int | None = None
    checkpoints: bool = False
    max_failures: int | None = Field(default=None, ge=1)
    prices: Prices = Field(default_factory=dict)
    progress: ProgressMode = "auto"
    log_every_s: float = Field(default=30.0, gt=0)
    fsync_every_s: float = Field(default=1.0, ge=0)
    cohorts: bool = True
    cohort_size: int = Field(default=64, ge=1)
    ray: str | None = Field(default=None, min_length=1)
    workers: int = Field(default=1, ge=1)
    worker_gpus: float = Field(default=0.0, ge=0)

    @field_validator("ray")
    @classmethod
    def _ray_runs_without_checkpoints(cls, ray: str | None, info: ValidationInfo) -> str | None:
        if ray is not None and info.data.get("checkpoints"):
            raise ValueError(
                "checkpoints are not available with ray: workers on other machines cannot share "
                "checkpoints.sqlite; leave out checkpoints (--checkpoints) or ray (--ray)"
            )
        return ray

    @field_validator("workers", "worker_gpus")
    @classmethod
    def _workers_are_ray_workers(cls, value: float, info: ValidationInfo) -> float:
        default = cls.model_fields[str(info.field_name)].default
        if value != default and info.data.get("ray") is None:
            raise ValueError(f"{info.field_name} are Ray workers' settings; give ray (--ray [ADDRESS]) too")
        return value


class RunDirMismatch(ValueError):
    """The run directory holds a different run (another scenario, data, shard or seed)."""


class Debates(Protocol):
    """Where a run's debates happen: this process (``InProcessDebates``) or Ray workers (``RayDebates``).

    ``run`` debates the pending items and hands each finished one to ``run.record``;
    it stops taking items once ``run.too_many_failures()``.
    """

    async def run(self, run: DatasetRun, pending: Iterator[tuple[Item, str]]) -> None: ...

    async def aclose(self) -> None: ...


async def arun_dataset(
    scenario: Scenario,
    items: Iterable[Item],
    out: str | Path,
    *,
    backends: Backends,
    options: RunOptions | None = None,
    dataset: DatasetRecord | None = None,
    scenario_spec: str | None = None,
    retry_failed: bool = False,
    force: bool = False,
    command: Sequence[str] = (),
) -> RunDirSummary:
    """Run ``scenario`` on every item into the run directory ``out``; resume what is there.

    ``backends`` is a backend or URI for every agent, or a mapping from the
    names agents give in ``Agent.backend`` to backends (``"default"`` for the
    rest). ``dataset`` describes the items for the manifest (and gives the
    total for progress); ``retry_failed`` runs failed debates again; ``force``
    starts over when ``out`` holds a different run (its files are moved aside,
    not deleted). ``scenario_spec`` (a registered name or ``.py`` path) is how
    Ray workers load the scenario; without it they receive the object.
    Raises ``RunDirMismatch`` when ``out`` holds a different run.
    """
    options = options or RunOptions()
    if dataset is None:
        dataset = DatasetRecord(source="<python>", items=len(items) if isinstance(items, Sized) else None)
    if resolve_mode(options.progress) != "bar":
        quiet_library_bars()  # before the backends load their models
    # backends are resolved and the graph compiled (or the workers started) before the run directory is
    # touched, so that a missing backend fails first
    debates: Debates
    if options.ray is None:
        debates = InProcessDebates(scenario, backends, options)
    else:
        from debate.runner.ray_workers import RayDebates

        debates = await RayDebates.start(scenario, backends, options, scenario_spec=scenario_spec)
    try:
        run_dir = RunDir(out)
        run_dir.lock()
        try:
            manifest = build_manifest(
                scenario,
                backends=backends,
                dataset=dataset,
                seed=options.seed,
                concurrency=options.concurrency,
                checkpoints=options.checkpoints,
                prices=options.prices,
                scenario_spec=scenario_spec,
                command=command,
                retry_failed=retry_failed,
            )
            notes = _open_run_dir(run_dir, manifest, force=force)
            run = DatasetRun(scenario, run_dir, options, dataset, retry_failed=retry_failed)
            for note in notes:
                run.progress.log(note)
            with relaxed_gc():
                return await run.run(items, debates)
        finally:
            run_dir.unlock()
    finally:
        await debates.aclose()


def run_dataset(scenario: Scenario, items: Iterable[Item], out: str | Path, **kwargs: Any) -> RunDirSummary:
    """Synchronous ``arun_dataset``, for scripts without a running event loop."""
    return asyncio.run(arun_dataset(scenario, items, out, **kwargs))


def _open_run_dir(run_dir: RunDir, manifest: RunManifest, *, force: bool) -> list[str]:
    """Check that ``run_dir`` holds this run (or nothing), write the manifest; returns notes for the user."""
    notes = []
    previous = run_dir.read_manifest()
    if previous is not None:
        problems = previous.identity_problems(manifest)
        if problems and not force:
            raise RunDirMismatch(
                f"{run_dir.path} holds a different run: {'; '.join(problems)}. "
                "Use another --out, or --force to start over (the old files are moved into a replaced-* folder)."
            )
        if problems:
            notes.append(f"--force: moved the previous run's files to {run_dir.set_aside()}")
            previous = None
        elif changed := previous.changed_backends(manifest):
            notes.append(
                f"backends {changed} differ from the earlier session's; continuing with the new ones"
            )
    elif run_dir.results.exists() and run_dir.results.stat().st_size:
        raise RunDirMismatch(
            f"{run_dir.results} exists but {run_dir.manifest_path} does not; use another --out"
        )
    run_dir.write_manifest(continue_manifest(previous, manifest) if previous else manifest)
    return notes


class DatasetRun:
    """One invocation's bookkeeping: which items are pending, the results writer, progress and counters.

    It is the run directory's only writer, wherever the debates run.
    """

    def __init__(
        self,
        scenario: Scenario,
        run_dir: RunDir,
        options: RunOptions,
        dataset: DatasetRecord,
        *,
        retry_failed: bool,
    ) -> None:
        self.scenario = scenario
        self.run_dir = run_dir
        self.options = options
        self.dataset = dataset
        self.session_started = time.monotonic()
        torn = run_dir.repair()
        index = run_dir.scan()
        notes = []
        if torn:
            notes.append(
                f"cut a torn last line ({torn} bytes) from {run_dir.results.name}; that debate runs again"
            )
        if index.duplicates:
            notes.append(
                f"{run_dir.results.name} holds {index.duplicates} repeated debate ids; the first counts"
            )
        if retry_failed and index.failed:
            run_dir.drop(index.failed)
            notes.append(f"retrying {len(index.failed)} failed debates")
            index = run_dir.scan()
        self.done = index.done
        self.read_gold = GoldReader.for_data(scenario.parser, dataset.fields)
        self.progress = Progress(dataset.items, index, mode=options.progress, log_every_s=options.log_every_s)
        for note in notes:
            self.progress.log(note)
        # summary.json sums every line of results.jsonl: the lines already there are read back once, and
        # this session's results are added as they are written (not parsed back from the file at the end)
        self.summary = SummaryBuilder(options.prices)
        if run_dir.results.exists():
            for result in load_results(run_dir.results):
                self.summary.add(result)
        self.session_failures = 0
        self.repeated_ids = 0
        self.read_every_item = False
        self.writer: ResultWriter | None = None

    async def run(self, items: Iterable[Item], debates: Debates) -> RunDirSummary:
        try:
            with self.run_dir.writer(self.options.fsync_every_s) as self.writer:
                await debates.run(self, self.pending(items))
        finally:
            self.progress.close()
        if self.repeated_ids:
            self.progress.log(
                f"skipped {self.repeated_ids} items whose id and question repeat an earlier item"
            )
        if self.read_gold.unread is not None and self.dataset.unread_gold is None:  # not reported up front
            self.progress.log(self.read_gold.unread.describe())
        summary = run_dir_summary(
            self.summary.build(),
            expected_debates=self._expected_debates(),
            elapsed_s=time.monotonic() - self.session_started,
            debates_this_session=self.progress.session_debates,
            tokens_this_session=self.progress.session_tokens,
        )
        self.run_dir.write_summary(summary)
        if self.options.checkpoints and summary.complete and not summary.failed:
            self.run_dir.remove_checkpoints()  # nothing in flight any more
        return summary

    def pending(self, items: Iterable[Item]) -> Iterator[tuple[Item, str]]:
        """Items (gold read) with their debate ids, less those done and those repeating an earlier item; streams."""
        seen: set[str] = set()
        for item in map(self.read_gold, items):
            debate_id = debate_id_for(self.scenario, item.question, item.id)
            if debate_id in seen:
                self.repeated_ids += 1
                continue
            seen.add(debate_id)
            if debate_id not in self.done:
                yield item, debate_id
        self.read_every_item = True

    def record(self, finished: FinishedDebate, result: DebateResult | None = None) -> None:
        """Append a finished debate to ``results.jsonl`` and count it; ``result`` is its line's result, if at hand."""
        assert self.writer is not None
        self.writer.append(finished)
        self.summary.add(result if result is not None else DebateResult.from_json_line(finished.line))
        self.progress.update(finished)
        if finished.failed:
            self.session_failures += 1
            if self.session_failures <= FAILURES_LOGGED:
                self.progress.log(f"{finished.debate_id} failed: {finished.reason}")
            if self.session_failures == FAILURES_LOGGED:
                self.progress.log("further failures are counted, not logged; results.jsonl has them all")

    def too_many_failures(self) -> bool:
        limit = self.options.max_failures
        if limit is None or self.session_failures < limit:
            return False
        self.progress.log(f"stopping: {limit} debates failed (max_failures); rerun to continue")
        return True

    def _expected_debates(self) -> int | None:
        """Items in the dataset, less those repeating an earlier item (known once every item was read)."""
        if self.dataset.items is None:
            return None
        return self.dataset.items - (self.repeated_ids if self.read_every_item else 0)


class ItemDebater:
    """Debates one item on a compiled graph; a debate that raises becomes a failed result, and the run goes on."""

    def __init__(self, scenario: Scenario, graph: CompiledStateGraph, saver: Any = None) -> None:
        self.scenario = scenario
        self.graph = graph if saver is None else graph.copy(update={"checkpointer": saver})
        self.saver = saver

    async def debate(self, item: Item, debate_id: str) -> tuple[DebateResult, bool]:
        """The debate's result, and whether its graph ran to the end (False when it raised)."""
        started = time.perf_counter()
        try:
            result = await arun_debate(
                self.scenario,
                item.question,
                graph=self.graph,
                context=item.context,
                gold=item.gold,
                debate_id=debate_id,
                metadata={**item.metadata, "item_id": item.id},
            )
        except Exception as error:  # noqa: BLE001 - any failure is recorded, the run goes on
            return failed_result(
                self.scenario,
                item,
                debate_id,
                reason=failure_reason(error),
                messages=await self._partial_messages(debate_id),
                wall_time_s=time.perf_counter() - started,
            ), False
        return result, True

    async def _partial_messages(self, debate_id: str) -> list[Message]:
        """What a failed debate said before it failed (known only with checkpoints), so its tokens count."""
        if self.saver is None:
            return []
        snapshot = await self.graph.aget_state({"configurable": {"thread_id": debate_id}})
        return list(snapshot.values.get("messages") or [])


def failure_reason(error: BaseException) -> str:
    """How a debate that raised says why in its line (``KeyError: 'tokenizer missing'``)."""
    return f"{type(error).__name__}: {error}"


def failed_result(
    scenario: Scenario,
    item: Item,
    debate_id: str,
    *,
    reason: str,
    messages: Sequence[Message] = (),
    wall_time_s: float = 0.0,
) -> DebateResult:
    """The result line of a debate that did not finish (outcome ``failed``, which ``--retry-failed`` reruns)."""
    return DebateResult(
        transcript=Transcript(
            debate_id=debate_id,
            scenario=scenario.name,
            question=item.question,
            context=item.context,
            messages=list(messages),
        ),
        outcome=Outcome.FAILED,
        reason=reason,
        stop_reason="failed",
        gold=item.gold,
        wall_time_s=wall_time_s,
        metadata={**item.metadata, "item_id": item.id},
    )


class InProcessDebates:
    """Debates in this process, at most ``concurrency`` in flight.

    Without checkpoints, and for protocols whose rounds a cohort can run
    (``debate.cohort``), debates run in cohorts: debates started together
    share one LangGraph invocation, which costs several times less CPU per
    model call than one graph per debate. Otherwise every debate runs its own
    graph (compiled once), which is what a checkpoint resumes.
    """

    def __init__(self, scenario: Scenario, backends: Backends, options: RunOptions) -> None:
        self.scenario = scenario
        self.options = options
        resolved, self.owned = resolve_run_backends(backends)
        seeded = with_seed(scenario, options.seed)
        self.cohort = (
            compile_cohort(seeded, resolved) if options.cohorts and not options.checkpoints else None
        )
        self.graph = compile_debate(seeded, resolved) if self.cohort is None else None

    async def run(self, run: DatasetRun, pending: Iterator[tuple[Item, str]]) -> None:
        if self.cohort is not None:
            await self._run_cohorts(run, pending, self.cohort)
            return
        assert self.graph is not None
        async with self._checkpointer(run.run_dir) as saver:
            debater = ItemDebater(self.scenario, self.graph, saver)
            slots = asyncio.Semaphore(self.options.concurrency)
            async with asyncio.TaskGroup() as group:  # a failure outside a debate (disk full) stops the run
                for item, debate_id in pending:
                    await slots.acquire()  # read the next item only when a debate slot is free
                    if run.too_many_failures():
                        slots.release()
                        break
                    group.create_task(self._debate_and_record(run, debater, item, debate_id, slots))

    async def _debate_and_record(
        self, run: DatasetRun, debater: ItemDebater, item: Item, debate_id: str, slots: asyncio.Semaphore
    ) -> None:
        try:
            result, ran_to_the_end = await debater.debate(item, debate_id)
            run.record(FinishedDebate.of(result), result)
            if debater.saver is not None and ran_to_the_end:
                # its line is written, so the checkpoint is dead weight; a debate that raised keeps
                # its checkpoint, and --retry-failed resumes it after the last finished step
                await debater.saver.adelete_thread(debate_id)
        finally:
            slots.release()

    async def _run_cohorts(
        self, run: DatasetRun, pending: Iterator[tuple[Item, str]], cohort: CompiledStateGraph
    ) -> None:
        await debate_in_cohorts(
            self.scenario,
            cohort,
            pending,
            asyncio.Semaphore(self.options.concurrency),
            cohort_size=self.options.cohort_size,
            record=lambda result: run.record(FinishedDebate.of(result), result),
            stop=run.too_many_failures,
        )

    @asynccontextmanager
    async def _checkpointer(self, run_dir: RunDir) -> AsyncIterator[Any]:
        if not self.options.checkpoints:
            yield None
            return
        async with sqlite_checkpointer(run_dir.checkpoints) as saver:
            # no fsync per commit (the file is in WAL mode): a killed process loses nothing, a power cut
            # at most the last steps, which those debates redo; saves about a sixth of the checkpoint cost
            await saver.conn.execute("PRAGMA synchronous=NORMAL")
            yield saver

    async def aclose(self) -> None:
        await close_backends(self.owned)


async def debate_in_cohorts(
    scenario: Scenario,
    cohort: CompiledStateGraph,
    pending: Iterable[tuple[Item, str]],
    slots: asyncio.Semaphore,
    *,
    cohort_size: int,
    record: Callable[[DebateResult], None],
    stop: Callable[[], bool] = lambda: False,
) -> None:
    """Debate ``pending`` in cohorts (``debate.cohort``), one slot of ``slots`` per debate in flight.

    Whenever slots are free, the next items (one per free slot, at most
    ``cohort_size``) start together as a cohort; each debate hands its result
    to ``record`` and frees its slot as soon as it ends. ``stop()`` is asked
    before each item starts.
    """
    async with asyncio.TaskGroup() as group:  # a failure outside a debate (disk full) stops the run
        members: list[tuple[Item, str]] = []
        for entry in pending:
            await slots.acquire()  # waits only when every slot is taken (and ``members`` is empty)
            if stop():
                slots.release()
                break
            members.append(entry)
            if slots.locked() or len(members) == cohort_size:  # these debates start together
                group.create_task(_cohort_and_record(scenario, cohort, members, slots, record))
                members = []
        if members:
            group.create_task(_cohort_and_record(scenario, cohort, members, slots, record))


async def _cohort_and_record(
    scenario: Scenario,
    cohort: CompiledStateGraph,
    members: list[tuple[Item, str]],
    slots: asyncio.Semaphore,
    record: Callable[[DebateResult], None],
) -> None:
    items = {debate_id: item for item, debate_id in members}
    debates = [
        CohortDebate(
            initial_state(
                debate_id,
                item.question,
                context=item.context,
                gold=item.gold,
                metadata={**item.metadata, "item_id": item.id},
            )
        )
        for item, debate_id in members
    ]
    try:
        async with aclosing(run_cohort(cohort, debates, scenario)) as finished_debates:
            async for finished in finished_debates:
                record(cohort_result(scenario, items.pop(finished.debate_id), finished))
                slots.release()
    finally:
        for _ in items:  # stopped early (cancelled, disk full): free the slots of the debates left
            slots.release()


def cohort_result(scenario: Scenario, item: Item, finished: Finished) -> DebateResult:
    """The result line of a debate that left its cohort: its final state's, or a failure's."""
    if finished.error is None:
        return debate_result(scenario, finished.state, wall_time_s=finished.wall_time_s)
    return failed_result(
        scenario,
        item,
        finished.debate_id,
        reason=failure_reason(finished.error),
        wall_time_s=finished.wall_time_s,
    )


def resolve_run_backends(backends: Backends) -> tuple[dict[str, Backend], list[Backend]]:
    """The run's backends by name, and those built here from URIs.

    The run closes those (``close_backends``); backend objects passed in are the caller's.
    """
    mapping = backends if isinstance(backends, Mapping) else {DEFAULT_BACKEND: backends}
    resolved = {name: resolve_backend(backend) for name, backend in mapping.items()}
    return resolved, [resolved[name] for name, backend in mapping.items() if isinstance(backend, str)]


async def close_backends(backends: Iterable[Backend]) -> None:
    for backend in backends:
        close = getattr(backend, "aclose", None)
        if close is not None:
            await close()
