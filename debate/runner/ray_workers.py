"""``debate run --ray``: a run's debates on Ray workers, its run directory written by the driver alone.

Read top to bottom, a run on Ray is:

1. The driver (the ``debate run`` process) starts a Ray runtime on this
   machine (``ray="local"``) or joins a cluster (``"auto"``, ``"ray://HOST:PORT"``)
   and starts ``workers`` actors, one CPU each (``DebateWorker``). Each
   loads the scenario from its spec, builds its own backends from their URIs
   and compiles the graph once, as the in-process runner does (the cohort
   graph, ``debate.cohort``, when the protocol has one and cohorts are on).
2. The driver reads the pending items (done ones skipped, as without Ray) and
   hands them out in chunks, a few chunks per worker in flight. A worker runs
   ``concurrency`` debates at a time over all its chunks and streams finished
   debates back in small batches, each already serialized as its result line.
3. The driver appends every line it receives to ``results.jsonl`` and counts
   it: it is the only writer, so resume after ``kill -9``, exactly-once
   results, ``--retry-failed``, progress and the summary are those of a run
   without Ray.
4. A worker that dies (killed, out of memory, its node lost) loses only its
   unfinished debates: what it streamed back is written, the rest of its chunks
   goes back to the queue for any worker, and Ray restarts it. The driver
   records a debate only from the chunk that owns it, once. A debate whose
   worker died under it ``MAX_LOSSES`` times is recorded as failed (so
   ``--retry-failed`` reruns it) rather than killing workers forever.

Ray is an optional extra (``pip install 'debate-graph[ray]'``); nothing here
imports it until a run asks for Ray. GPU placement: ``worker_gpus`` reserves
GPUs for each worker through Ray's ``num_gpus``, and a ``vllm:`` backend built
in that worker runs its engine on them (Ray sets ``CUDA_VISIBLE_DEVICES``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import deque
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from debate.cohort import compile_cohort
from debate.datasets import Item
from debate.gc_tuning import relaxed_gc
from debate.graph import compile_debate
from debate.runner.run_dir import FinishedDebate
from debate.runner.runner import (
    Backends,
    ItemDebater,
    RunOptions,
    close_backends,
    debate_in_cohorts,
    failed_result,
    resolve_run_backends,
)
from debate.runner.seeding import with_seed
from debate.scenario import Scenario

if TYPE_CHECKING:
    from langgraph.graph.state import CompiledStateGraph

    from debate.runner.runner import DatasetRun

CHUNKS_IN_FLIGHT = 2
"""Chunks each worker holds at once, so its debate slots stay full while the driver hands out the next."""

CHUNK_PER_SLOT = 2
"""Items in a chunk per debate slot of a worker (``concurrency``): a dead worker loses at most
``CHUNKS_IN_FLIGHT * CHUNK_PER_SLOT * concurrency`` unfinished debates, which run again elsewhere."""

STREAM_EVERY_S = 0.05
"""A worker sends finished debates back at most this often, in one batch (one Ray object per batch)."""

MAX_LOSSES = 3
"""A debate whose worker died under it this many times is recorded as failed instead of run again."""

RESTART_WAIT_S = 300.0
"""How long the driver waits for Ray to restart a lost worker (on another node, if its node is gone)."""

Pending = tuple[Item, str]
"""An item (gold read) and its debate id."""


def import_ray() -> ModuleType:
    """The ``ray`` module, or an error that says how to install it."""
    try:
        import ray
    except ImportError as error:
        raise ValueError(
            f"ray: running on Ray needs the ray package, which is not importable here ({error}); "
            "pip install 'debate-graph[ray]', or run without --ray"
        ) from None
    return ray


@dataclass(frozen=True)
class ScenarioSource:
    """How a worker gets the driver's scenario: loaded from its spec (so that a scenario file's
    ``register_scheme`` calls run in the worker too), else the object itself.

    A ``.py`` file travels as its text, for workers on machines where the path does not exist.
    """

    spec: str | None
    fingerprint: str
    file_text: str | None = None
    scenario: Scenario | None = None

    @classmethod
    def of(cls, scenario: Scenario, spec: str | None) -> ScenarioSource:
        if spec is None:
            return cls(spec=None, fingerprint=scenario.fingerprint(), scenario=scenario)
        is_file = spec.endswith(".py") or "/" in spec
        text = Path(spec).read_text(encoding="utf-8") if is_file else None
        return cls(spec=spec, fingerprint=scenario.fingerprint(), file_text=text)

    def load(self) -> Scenario:
        from debate.loading import load_scenario

        if self.spec is None:
            assert self.scenario is not None
            return self.scenario
        spec = self.spec
        if self.file_text is not None and not Path(spec).is_file():
            import tempfile

            copy = Path(tempfile.mkdtemp(prefix="debate-scenario-")) / Path(spec).name
            copy.write_text(self.file_text, encoding="utf-8")
            spec = str(copy)
        scenario = load_scenario(spec)
        if scenario.fingerprint() != self.fingerprint:
            raise ValueError(
                f"ray: scenario {self.spec!r} loads differently on this worker (fingerprint "
                f"{scenario.fingerprint()}, the driver's is {self.fingerprint}); install the same code on "
                "every node"
            )
        return scenario


class DebateWorker:
    """A Ray actor (``ray::DebateWorker``) that debates the chunks of items it is given.

    Its debate slots (``concurrency``) are shared by every chunk it holds, so a
    worker runs as many debates at once as the in-process runner would.
    """

    def __init__(
        self,
        source: ScenarioSource,
        backends: Backends,
        seed: int | None,
        concurrency: int,
        cohort_size: int | None = None,
    ) -> None:
        self.gc = relaxed_gc()  # this process only debates, for as long as it lives
        self.gc.__enter__()
        self.scenario = scenario = source.load()
        resolved, self.owned = resolve_run_backends(backends)
        seeded = with_seed(scenario, seed)
        # cohorts as in the driver's own process (``InProcessDebates``); None: one graph per debate
        self.cohort = compile_cohort(seeded, resolved) if cohort_size is not None else None
        self.cohort_size = cohort_size or 1
        self.debater = (
            ItemDebater(scenario, compile_debate(seeded, resolved)) if self.cohort is None else None
        )
        self.concurrency = concurrency
        self.slots: asyncio.Semaphore | None = None

    def ready(self) -> dict[str, Any]:
        """Where the worker runs (once its constructor succeeded)."""
        import ray

        return {"pid": os.getpid(), "node": ray.util.get_node_ip_address()}

    async def debate(self, chunk: list[Pending]) -> AsyncIterator[list[FinishedDebate]]:
        """Debate every item of ``chunk``; yield the finished ones in batches as they end."""
        if self.slots is None:  # made in the actor's event loop
            self.slots = asyncio.Semaphore(self.concurrency)
        slots = self.slots
        finished: asyncio.Queue[FinishedDebate | Exception] = asyncio.Queue()

        async def debate_one(item: Item, debate_id: str) -> None:
            assert self.debater is not None
            try:
                async with slots:
                    result, _ = await self.debater.debate(item, debate_id)
                finished.put_nowait(FinishedDebate.of(result))
            except Exception as error:  # noqa: BLE001 - a bug outside the debate: the driver stops the run
                finished.put_nowait(error)

        async def debate_all_in_cohorts(cohort: CompiledStateGraph) -> None:
            try:
                await debate_in_cohorts(
                    self.scenario,
                    cohort,
                    chunk,
                    slots,
                    cohort_size=self.cohort_size,
                    record=lambda result: finished.put_nowait(FinishedDebate.of(result)),
                )
            except Exception as error:  # noqa: BLE001 - a bug outside the debates: the driver stops the run
                finished.put_nowait(error)

        tasks = (
            [asyncio.create_task(debate_all_in_cohorts(self.cohort))]
            if self.cohort is not None
            else [asyncio.create_task(debate_one(item, debate_id)) for item, debate_id in chunk]
        )
        try:
            loop = asyncio.get_running_loop()
            remaining = len(chunk)
            last_sent = 0.0
            while remaining:
                batch = [await finished.get()]
                wait = last_sent + STREAM_EVERY_S - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                while not finished.empty():
                    batch.append(finished.get_nowait())
                for entry in batch:
                    if isinstance(entry, Exception):
                        raise entry
                remaining -= len(batch)
                last_sent = loop.time()
                yield batch
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def close(self) -> None:
        await close_backends(self.owned)


@dataclass
class _Chunk:
    items: dict[str, Item]
    """Debate id -> item, for the debates of this chunk not yet recorded."""


@dataclass
class _Dispatch:
    """The driver's queue of work: pending items read in chunks, chunks to run again, chunks out."""

    pending: Iterator[Pending]
    chunk_size: int
    again: deque[_Chunk] = field(default_factory=deque)
    out: int = 0
    read_all: bool = False
    stopped: bool = False
    """Set once the run reached ``max_failures``: no more chunks go out."""
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def take(self, run: DatasetRun) -> _Chunk | None:
        """The next chunk to debate, or None when there is none left (or the run stops at max_failures)."""
        while True:
            self.stopped = self.stopped or run.too_many_failures()
            if self.stopped:
                return None
            if self.again:
                self.out += 1
                return self.again.popleft()
            if not self.read_all:
                items = list(islice(self.pending, self.chunk_size))
                if items:
                    self.out += 1
                    return _Chunk({debate_id: item for item, debate_id in items})
                self.read_all = True
            if not self.out:
                return None
            self.changed.clear()  # wait for a chunk out to come back, or to be lost and queued again
            await self.changed.wait()

    def done(self, chunk: _Chunk, *, lost: bool) -> None:
        self.out -= 1
        if lost and chunk.items:
            self.again.append(chunk)
        self.changed.set()


class RayDebates:
    """A run's debates on Ray workers (see the module docstring)."""

    def __init__(
        self,
        ray: ModuleType,
        workers: list[Any],
        where: list[dict[str, Any]],
        options: RunOptions,
        *,
        owns_ray: bool,
    ) -> None:
        self.ray = ray
        self.workers = workers
        self.where = where
        self.options = options
        self.owns_ray = owns_ray
        self.losses: dict[str, int] = {}

    @classmethod
    async def start(
        cls, scenario: Scenario, backends: Backends, options: RunOptions, *, scenario_spec: str | None
    ) -> RayDebates:
        """Connect to Ray (or start it), start the workers and wait until each has compiled its graph."""
        assert options.ray is not None
        ray = import_ray()
        owns_ray = connect(ray, options.ray, options.workers)
        gpus = ray.cluster_resources().get("GPU", 0)
        if options.worker_gpus > gpus and options.ray == "local":
            if owns_ray:
                ray.shutdown()
            raise ValueError(
                f"worker_gpus: each worker asks for {options.worker_gpus:g} GPUs, and this machine's Ray "
                f"runtime has {gpus:g}; leave out --worker-gpus, or join a cluster with GPUs (--ray auto)"
            )
        worker_class = ray.remote(DebateWorker).options(
            num_cpus=1,
            num_gpus=options.worker_gpus,
            max_restarts=-1,  # a lost worker comes back; its chunks were queued again by the driver
            max_task_retries=0,
        )
        source = ScenarioSource.of(scenario, scenario_spec)
        backend_uris = dict(backends) if isinstance(backends, Mapping) else backends
        workers = [
            worker_class.remote(
                source,
                backend_uris,
                options.seed,
                options.concurrency,
                options.cohort_size if options.cohorts else None,
            )
            for _ in range(options.workers)
        ]
        try:
            where = await asyncio.gather(*(worker.ready.remote() for worker in workers))
        except ray.exceptions.RayActorError as error:
            for worker in workers:
                ray.kill(worker)
            if owns_ray:
                ray.shutdown()
            raise ValueError(f"ray: a worker could not start: {error}") from None
        return cls(ray, workers, list(where), options, owns_ray=owns_ray)

    async def run(self, run: DatasetRun, pending: Iterator[Pending]) -> None:
        places = ", ".join(f"pid {place['pid']} on {place['node']}" for place in self.where)
        run.progress.log(
            f"ray: {len(self.workers)} workers ({places}), {self.options.concurrency} debates each"
        )
        dispatch = _Dispatch(pending, chunk_size=CHUNK_PER_SLOT * self.options.concurrency)
        async with asyncio.TaskGroup() as group:
            for number, worker in enumerate(self.workers):
                for _ in range(CHUNKS_IN_FLIGHT):
                    group.create_task(self._feed(run, dispatch, number, worker))
        if not dispatch.stopped and (dispatch.again or not dispatch.read_all):
            raise RuntimeError("ray: every worker was lost; rerun the same command to resume")

    async def _feed(self, run: DatasetRun, dispatch: _Dispatch, number: int, worker: Any) -> None:
        """Give ``worker`` chunk after chunk and record what it streams back, until no work is left."""
        while (chunk := await dispatch.take(run)) is not None:
            try:
                async for batch in worker.debate.remote(list(self._to_send(chunk))):
                    for finished in await batch:
                        if chunk.items.pop(finished.debate_id, None) is not None:
                            run.record(finished)
            except self.ray.exceptions.RayActorError as error:
                self._lost(run, chunk, number, error)
                dispatch.done(chunk, lost=True)
                if not await self._restarted(worker):
                    run.progress.log(f"ray: worker {number} did not come back; going on without it")
                    return
                continue
            dispatch.done(chunk, lost=bool(chunk.items))  # a stream that ended short: the rest runs again

    @staticmethod
    def _to_send(chunk: _Chunk) -> Iterator[Pending]:
        for debate_id, item in chunk.items.items():
            yield item, debate_id

    def _lost(self, run: DatasetRun, chunk: _Chunk, number: int, error: Exception) -> None:
        """Count the loss against each unfinished debate of ``chunk``; record those lost too often as failed."""
        run.progress.log(
            f"ray: worker {number} was lost ({type(error).__name__}); "
            f"its {len(chunk.items)} unfinished debates of this chunk run again"
        )
        for debate_id, item in list(chunk.items.items()):
            self.losses[debate_id] = self.losses.get(debate_id, 0) + 1
            if self.losses[debate_id] >= MAX_LOSSES:
                del chunk.items[debate_id]
                reason = f"WorkerLost: its Ray worker died under it {MAX_LOSSES} times"
                run.record(FinishedDebate.of(failed_result(run.scenario, item, debate_id, reason=reason)))

    async def _restarted(self, worker: Any) -> bool:
        """Wait until Ray has restarted ``worker``; False when it is not back within ``RESTART_WAIT_S``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RESTART_WAIT_S
        while loop.time() < deadline:
            try:
                await asyncio.wait_for(worker.ready.remote(), max(deadline - loop.time(), 0.1))
                return True
            except (self.ray.exceptions.RayActorError, TimeoutError):
                await asyncio.sleep(0.2)
        return False

    async def aclose(self) -> None:
        """Let the workers close their backends (briefly), then end them, and the runtime if this run started it."""
        closing = asyncio.gather(*(worker.close.remote() for worker in self.workers), return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(closing, 10)
        for worker in self.workers:
            self.ray.kill(worker)
        if self.owns_ray:
            self.ray.shutdown()


def connect(ray: ModuleType, address: str, workers: int) -> bool:
    """Join the Ray cluster at ``address``, or start one here for ``"local"``; True when this call started it.

    A local runtime gets at least one CPU per worker, so that ``workers`` can exceed the cores (each worker
    waits on models most of the time); a script that called ``ray.init`` itself keeps its runtime.
    """
    if ray.is_initialized():
        return False
    if address == "local":
        ray.init(
            num_cpus=max(workers, os.cpu_count() or 1),
            include_dashboard=False,
            logging_level=logging.WARNING,
        )
    else:
        ray.init(address=address, logging_level=logging.WARNING)
    return True
