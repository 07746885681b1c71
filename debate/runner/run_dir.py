"""The run directory on disk: append-only results, atomic rewrites, torn-line repair, one writer at a time.

``results.jsonl`` is the source of truth for what is done: a debate is done
exactly when its line is complete (ends with a newline). A process killed
mid-write leaves at most one torn last line, which ``repair`` truncates; every
other file is replaced atomically (temp file, fsync, ``os.replace``), so a
crash leaves either the old or the new version, never a mix.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO

from pydantic import BaseModel

from debate.runner.manifest import RunManifest
from debate.transcript import DebateResult, Outcome, row_outcome

RESULTS = "results.jsonl"
MANIFEST = "manifest.json"
SUMMARY = "summary.json"
CHECKPOINTS = "checkpoints.sqlite"
LOCK = ".lock"


class RunDirBusy(RuntimeError):
    """Another process is writing to the same run directory."""


@dataclass(frozen=True, slots=True)
class FinishedDebate:
    """A finished debate as the run directory needs it: its line for ``results.jsonl`` and what progress counts.

    Serialized once, where the debate ran; a Ray worker sends this back to the
    driver (the run directory's only writer), which never parses the line again.
    """

    debate_id: str
    line: str
    outcome: Outcome
    reason: str | None
    tokens: int
    has_gold: bool
    correct: bool

    @classmethod
    def of(cls, result: DebateResult) -> FinishedDebate:
        return cls(
            debate_id=result.debate_id,
            line=result.to_json_line(),
            outcome=result.outcome,
            reason=result.reason,
            tokens=result.transcript.usage.total_tokens,
            has_gold=result.gold is not None,
            correct=result.correct is True,
        )

    @property
    def failed(self) -> bool:
        return self.outcome is Outcome.FAILED


@dataclass
class ResultIndex:
    """What ``results.jsonl`` already holds, read in one streaming pass (ids and counters, no transcripts)."""

    done: set[str] = field(default_factory=set)
    failed: set[str] = field(default_factory=set)
    """Debates with outcome ``failed``: what ``--retry-failed`` runs again."""
    no_answer: int = 0
    correct: int = 0
    with_gold: int = 0
    tokens: int = 0
    duplicates: int = 0

    def add(self, line: str) -> None:
        row = json.loads(line)
        debate_id = row["transcript"]["debate_id"]
        if debate_id in self.done:
            self.duplicates += 1
            return
        self.done.add(debate_id)
        outcome = row_outcome(row)
        if outcome is Outcome.FAILED:
            self.failed.add(debate_id)
        self.no_answer += int(outcome is Outcome.NO_ANSWER)
        if row.get("gold") is not None:
            self.with_gold += 1
            self.correct += int(
                row.get("final_answer") is not None and row.get("final_answer") == row["gold"]
            )
        for message in row["transcript"].get("messages", []):
            usage = message.get("usage") or {}
            self.tokens += usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0)


def complete_lines(path: Path) -> Iterator[str]:
    """The file's complete lines (a torn last line, without its newline, is left out); streams."""
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.endswith("\n") and line.strip():
                yield line


def write_atomically(path: Path, chunks: Iterable[str]) -> None:
    """Replace ``path`` with ``chunks`` so that readers (and crashes) see the old or the new file, never half.

    ``chunks`` may be a generator reading another file: it is consumed while the temporary file is written.
    """
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.writelines(chunks)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_directory(path.parent)


def write_model(path: Path, model: BaseModel) -> None:
    write_atomically(path, [model.model_dump_json(indent=2) + "\n"])


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class RunDir:
    """One run's directory (see docs/running.md for its files)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.results = self.path / RESULTS
        self.manifest_path = self.path / MANIFEST
        self.summary_path = self.path / SUMMARY
        self.checkpoints = self.path / CHECKPOINTS
        self._lock: IO[str] | None = None

    # -- one writer ------------------------------------------------------------------

    def lock(self) -> None:
        """Hold an exclusive lock for this process's lifetime (released by the OS even on SIGKILL)."""
        self.path.mkdir(parents=True, exist_ok=True)
        handle = open(self.path / LOCK, "a+", encoding="utf-8")  # noqa: SIM115 - held until unlock()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            owner = handle.read().strip() or "unknown"
            handle.close()
            raise RunDirBusy(
                f"{self.path}: another process (pid {owner}) is running in this run directory; "
                "wait for it, or use another --out"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._lock = handle

    def unlock(self) -> None:
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    # -- manifest and summary ----------------------------------------------------------

    def read_manifest(self) -> RunManifest | None:
        if not self.manifest_path.exists():
            return None
        return RunManifest.model_validate_json(self.manifest_path.read_text(encoding="utf-8"))

    def write_manifest(self, manifest: RunManifest) -> None:
        write_model(self.manifest_path, manifest)

    def write_summary(self, summary: BaseModel) -> None:
        write_model(self.summary_path, summary)

    # -- results ---------------------------------------------------------------------

    def repair(self) -> int:
        """Truncate a torn last line (a write cut short by a kill); returns how many bytes were dropped."""
        if not self.results.exists():
            return 0
        with open(self.results, "rb+") as handle:
            size = handle.seek(0, os.SEEK_END)
            position = size
            while position > 0:  # find the last newline, reading backwards in blocks
                step = min(1 << 16, position)
                handle.seek(position - step)
                block = handle.read(step)
                newline = block.rfind(b"\n")
                if newline >= 0:
                    keep = position - step + newline + 1
                    break
                position -= step
            else:
                keep = 0
            if keep < size:
                handle.truncate(keep)
                handle.flush()
                os.fsync(handle.fileno())
            return size - keep

    def scan(self) -> ResultIndex:
        index = ResultIndex()
        if self.results.exists():
            for number, line in enumerate(complete_lines(self.results), start=1):
                try:
                    index.add(line)
                except (ValueError, KeyError, TypeError) as error:
                    raise ValueError(f"{self.results}:{number}: not a debate result ({error})") from None
        return index

    def drop(self, debate_ids: set[str]) -> int:
        """Rewrite ``results.jsonl`` without the lines of ``debate_ids`` (atomically); returns how many went."""
        if not self.results.exists() or not debate_ids:
            return 0
        dropped = 0

        def kept() -> Iterator[str]:
            nonlocal dropped
            for line in complete_lines(self.results):
                if json.loads(line)["transcript"]["debate_id"] in debate_ids:
                    dropped += 1
                else:
                    yield line

        write_atomically(self.results, kept())
        return dropped

    def writer(self, fsync_every_s: float = 1.0) -> ResultWriter:
        return ResultWriter(self.results, fsync_every_s)

    # -- starting over -----------------------------------------------------------------

    def set_aside(self) -> Path | None:
        """Move this run's files into ``replaced-<time>/`` (for ``--force``); nothing is deleted."""
        present = [
            path
            for path in self.path.iterdir()
            if path.name in (RESULTS, MANIFEST, SUMMARY) or path.name.startswith(CHECKPOINTS)
        ]
        if not present:
            return None
        target = self.path / f"replaced-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}"
        target.mkdir()
        for path in present:
            shutil.move(str(path), target / path.name)
        return target

    def remove_checkpoints(self) -> None:
        for path in self.path.glob(f"{CHECKPOINTS}*"):
            path.unlink(missing_ok=True)


class ResultWriter:
    """Appends one line per finished debate; each line is flushed to the OS at once (a killed process loses
    nothing) and fsynced at most every ``fsync_every_s`` (a power cut loses at most that long of work)."""

    def __init__(self, path: Path, fsync_every_s: float) -> None:
        self.path = path
        self.fsync_every_s = fsync_every_s
        self._handle: IO[str] | None = None
        self._last_sync = time.monotonic()
        self.written = 0

    def __enter__(self) -> ResultWriter:
        self._handle = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in __exit__
        return self

    def append(self, finished: FinishedDebate) -> None:
        assert self._handle is not None, "use ResultWriter as a context manager"
        self._handle.write(finished.line)
        self._handle.flush()
        self.written += 1
        if time.monotonic() - self._last_sync >= self.fsync_every_s:
            os.fsync(self._handle.fileno())
            self._last_sync = time.monotonic()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._handle is not None:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            self._handle = None
