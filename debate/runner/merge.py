"""``debate merge``: join the run directories of shards (or of interrupted copies) into one.

Parts must be the same run: same scenario fingerprint, data and seed, or the
merge is refused naming the part and what differs. A debate present in several
parts is kept once, preferring a finished line over a failed one, then the
earlier part (a finished line without an answer is not replaced by one with an
answer: that would pick the better sample, as retrying it would). Inputs are only read (a torn last line in a part is skipped);
the output is a complete run directory that reports and exports read like any
other.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from debate.runner.manifest import RunManifest
from debate.runner.run_dir import RunDir, complete_lines, write_atomically
from debate.runner.run_summary import RunDirSummary, summarize_run_dir
from debate.runner.runner import RunDirMismatch
from debate.transcript import Outcome, row_outcome


@dataclass
class MergeResult:
    summary: RunDirSummary
    notes: list[str] = field(default_factory=list)
    """What the user should know: duplicates dropped, torn lines skipped, missing shards."""


def merge_runs(
    parts: Sequence[str | Path],
    out: str | Path,
    *,
    prices: Mapping[str, tuple[float, float]] | None = None,
    force: bool = False,
) -> MergeResult:
    """Merge the run directories ``parts`` into ``out``; ``prices`` default to the parts' own."""
    if not parts:
        raise ValueError("merge: give at least one run directory")
    dirs = [RunDir(part) for part in parts]
    manifests = []
    for run_dir in dirs:
        manifest = run_dir.read_manifest()
        if manifest is None:
            raise ValueError(
                f"merge: {run_dir.path} has no {run_dir.manifest_path.name}; is it a run directory?"
            )
        manifests.append(manifest)
    first = manifests[0]
    for run_dir, manifest in zip(dirs[1:], manifests[1:], strict=True):
        problems = first.identity_problems(manifest, same_shard=False) + _sharding_problems(first, manifest)
        if problems:
            raise RunDirMismatch(
                f"merge: {run_dir.path} is not the same run as {dirs[0].path}: {'; '.join(problems)}"
            )
    notes = _shard_notes(manifests)

    target = RunDir(out)
    if any(target.path.resolve() == run_dir.path.resolve() for run_dir in dirs):
        raise ValueError(f"merge: --out {target.path} is one of the inputs; write the merge elsewhere")
    target.lock()
    try:
        if target.read_manifest() is not None or target.results.exists():
            if not force:
                raise ValueError(
                    f"merge: {target.path} already holds a run; choose another --out or pass --force"
                )
            notes.append(f"--force: moved the previous files of {target.path} to {target.set_aside()}")
        notes += _write_merged_results(dirs, target)
        merged_manifest = first.model_copy(
            update={
                "dataset": first.dataset.model_copy(
                    update={"shard": None, "items": _expected_items(manifests)}
                ),
                "checkpoints": False,
                "created_at": min(manifest.created_at for manifest in manifests),
                "sessions": [session for manifest in manifests for session in manifest.sessions],
                "merged_from": [str(run_dir.path) for run_dir in dirs],
            }
        )
        target.write_manifest(merged_manifest)
        summary = _summary(
            target, dirs, merged_manifest.dataset.items, prices if prices is not None else first.prices
        )
        target.write_summary(summary)
        return MergeResult(summary, notes)
    finally:
        target.unlock()


def _expected_items(manifests: Sequence[RunManifest]) -> int | None:
    """Items of the distinct shards (a shard run twice counts once; unsharded parts cover everything)."""
    per_shard: dict[str | None, int] = {}
    for manifest in manifests:
        if manifest.dataset.items is None:
            return None
        key = str(manifest.dataset.shard) if manifest.dataset.shard else None
        per_shard[key] = max(per_shard.get(key, 0), manifest.dataset.items)
    return per_shard[None] if None in per_shard else sum(per_shard.values())


def _sharding_problems(first: RunManifest, other: RunManifest) -> list[str]:
    mine, theirs = first.dataset.shard, other.dataset.shard
    if mine is None or theirs is None or (mine.count, mine.by) == (theirs.count, theirs.by):
        return []
    return [f"the shardings differ: {mine} by {mine.by} vs {theirs} by {theirs.by}"]


def _shard_notes(manifests: Sequence[RunManifest]) -> list[str]:
    shards = [manifest.dataset.shard for manifest in manifests if manifest.dataset.shard is not None]
    if not shards:
        return []
    present = sorted({shard.index for shard in shards})
    missing = sorted(set(range(shards[0].count)) - set(present))
    return (
        [f"shards {missing} of {shards[0].count} are missing: the merged run is partial"] if missing else []
    )


def _write_merged_results(dirs: Sequence[RunDir], target: RunDir) -> list[str]:
    """Pick one line per debate (finished first, then the earliest part), write them atomically."""
    chosen: dict[str, tuple[int, int, bool]] = {}  # debate id -> (part, line number, failed)
    duplicates = torn = 0
    for part, run_dir in enumerate(dirs):
        if not run_dir.results.exists():
            continue
        for number, line in enumerate(complete_lines(run_dir.results)):
            row = json.loads(line)
            debate_id, failed = row["transcript"]["debate_id"], row_outcome(row) is Outcome.FAILED
            previous = chosen.get(debate_id)
            if previous is not None:
                duplicates += 1
                if not (previous[2] and not failed):
                    continue
            chosen[debate_id] = (part, number, failed)
        torn += int(_has_torn_tail(run_dir.results))
    keep = {(part, number) for part, number, _ in chosen.values()}

    def chosen_lines() -> Iterator[str]:
        for part, run_dir in enumerate(dirs):
            if run_dir.results.exists():
                for number, line in enumerate(complete_lines(run_dir.results)):
                    if (part, number) in keep:
                        yield line

    write_atomically(target.results, chosen_lines())
    notes = []
    if duplicates:
        notes.append(f"{duplicates} debates appeared in more than one part; each is kept once")
    if torn:
        notes.append(f"skipped a torn last line in {torn} parts (those debates are missing; rerun that part)")
    return notes


def _has_torn_tail(path: Path) -> bool:
    with open(path, "rb") as handle:
        if handle.seek(0, os.SEEK_END) == 0:
            return False
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) != b"\n"


def _summary(
    target: RunDir, dirs: Sequence[RunDir], expected: int | None, prices: Mapping[str, tuple[float, float]]
) -> RunDirSummary:
    """Statistics of the merged results; the parts ran side by side, so elapsed time is the longest part's."""
    elapsed = 0.0
    for run_dir in dirs:
        if run_dir.summary_path.exists():
            elapsed = max(
                elapsed, json.loads(run_dir.summary_path.read_text(encoding="utf-8")).get("elapsed_s", 0.0)
            )
    summary = summarize_run_dir(
        target,
        prices=prices,
        expected_debates=expected,
        elapsed_s=elapsed,
        debates_this_session=0,
        tokens_this_session=0,
    )
    rate = (lambda amount: amount / elapsed) if elapsed > 0 else (lambda amount: None)
    return summary.model_copy(
        update={
            "debates_this_session": summary.debates,
            "debates_per_s": rate(summary.debates),
            "tokens_per_s": rate(summary.total_tokens),
        }
    )
