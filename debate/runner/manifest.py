"""``manifest.json``: what a run is, so that it can be resumed, merged, compared and reproduced.

Written when a run directory is created and rewritten (atomically) when the run
is resumed: the first session's facts stay, each invocation appends a
``Session``. Its identity (scenario fingerprint, data, shard, seed) decides
whether a run directory may be reused; nothing in it is secret.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import subprocess
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from debate.agents.backends import Backend
from debate.datasets import FieldMap
from debate.gold import UnreadGold
from debate.messages import Role, SamplingParams
from debate.runner.redaction import redact
from debate.runner.seeding import with_seed
from debate.runner.shard import Shard
from debate.scenario import Scenario

MANIFEST_VERSION = 1

RECORDED_PACKAGES = ("debate", "langgraph", "openai", "transformers", "torch", "vllm")


class AgentRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    role: Role
    backend: str | None = None
    model: str | None = None
    sampling: SamplingParams


class DatasetRecord(BaseModel):
    """Where the items came from and which of them this run covers."""

    model_config = ConfigDict(extra="forbid")

    source: str
    """A built-in name (``gsm8k``), a path, or ``<python>`` for items passed in code."""
    split: str | None = None
    format: str | None = None
    fields: FieldMap | None = None
    items: int | None = None
    """How many items this run covers (after ``limit`` and ``shard``)."""
    limit: int | None = None
    shard: Shard | None = None
    unread_gold: UnreadGold | None = None
    """Gold answers the scenario's answer parser could not read, counted before the run (``debate.gold``)."""

    def identity(self, *, shard: bool = True) -> dict[str, Any]:
        """What must match to reuse a run directory (the limit may grow: a resumed run may cover more)."""
        fields = {"source", "split", "format", "fields"} | ({"shard"} if shard else set())
        return self.model_dump(mode="json", include=fields)


class Session(BaseModel):
    """One invocation that worked on the run."""

    model_config = ConfigDict(extra="forbid")

    started_at: datetime
    command: list[str] = Field(default_factory=list)
    retry_failed: bool = False


class RunManifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = MANIFEST_VERSION
    scenario: str
    scenario_spec: str | None = None
    """What the user named: a registered scenario or a ``.py`` path."""
    scenario_fingerprint: str
    scenario_source_sha256: str | None = None
    protocol: str
    rounds: int
    agents: list[AgentRecord]
    backends: dict[str, str]
    """Backend name -> URI (credentials removed), or a description of a backend object."""
    dataset: DatasetRecord
    seed: int | None = None
    concurrency: int
    checkpoints: bool
    prices: dict[str, tuple[float, float]] = Field(default_factory=dict)
    packages: dict[str, str | None] = Field(default_factory=dict)
    git_commit: str | None = None
    created_at: datetime
    sessions: list[Session] = Field(default_factory=list)
    merged_from: list[str] = Field(default_factory=list)
    """For ``debate merge`` outputs: the run directories combined."""

    def identity_problems(self, other: RunManifest, *, same_shard: bool = True) -> list[str]:
        """Why ``other`` may not continue this run (or, with ``same_shard=False``, be merged with it)."""
        problems = []
        if other.scenario_fingerprint != self.scenario_fingerprint:
            problems.append(
                f"the scenario changed: this directory holds scenario {self.scenario!r} with fingerprint "
                f"{self.scenario_fingerprint}, the requested run has {other.scenario!r} with fingerprint "
                f"{other.scenario_fingerprint}"
            )
        mine, theirs = self.dataset.identity(shard=same_shard), other.dataset.identity(shard=same_shard)
        if mine != theirs:
            changed = "; ".join(
                f"{key}: {mine.get(key)!r} here, {theirs.get(key)!r} requested"
                for key in sorted({*mine, *theirs})
                if mine.get(key) != theirs.get(key)
            )
            problems.append(f"the data changed ({changed})")
        if other.seed != self.seed:
            problems.append(
                f"the seed changed: this directory holds seed {self.seed}, the requested run has {other.seed}"
            )
        return problems

    def changed_backends(self, other: RunManifest) -> list[str]:
        return sorted(
            name
            for name in {*self.backends, *other.backends}
            if self.backends.get(name) != other.backends.get(name)
        )


def describe_backends(backends: Backend | str | Mapping[str, Backend | str]) -> dict[str, str]:
    """Backend name -> redacted URI (or the backend's class and name when it was built in code)."""
    from debate.graph import DEFAULT_BACKEND

    mapping = backends if isinstance(backends, Mapping) else {DEFAULT_BACKEND: backends}
    described = {}
    for name, backend in mapping.items():
        if isinstance(backend, str):
            described[name] = redact(backend)
        else:
            described[name] = f"<{type(backend).__name__} {getattr(backend, 'name', '')}>".replace(" >", ">")
    return described


def agent_records(scenario: Scenario) -> list[AgentRecord]:
    everyone = [*scenario.agents, *([scenario.judge] if scenario.judge else [])]
    return [
        AgentRecord(
            name=agent.name,
            role=agent.role,
            backend=redact(agent.backend) if agent.backend else None,
            model=agent.model,
            sampling=agent.sampling,
        )
        for agent in everyone
    ]


def scenario_source_sha256(spec: str | None) -> str | None:
    """Hash of the file a scenario was loaded from (a ``.py`` path or a registered name), if it can be found."""
    if spec is None:
        return None
    if spec.endswith(".py") or "/" in spec:
        path: Path | None = Path(spec)
    else:
        found = importlib.util.find_spec(f"debate.scenarios.{spec}")
        path = Path(found.origin) if found is not None and found.origin else None
    if path is None or not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


def package_versions() -> dict[str, str | None]:
    """Installed versions, read from package metadata (nothing heavy is imported)."""
    versions: dict[str, str | None] = {}
    for package in RECORDED_PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def git_commit() -> str | None:
    """The commit of the checkout the ``debate`` package runs from, with ``+dirty`` for local changes."""
    root = Path(__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None  # an installed package, not a checkout
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}+dirty" if dirty else commit or None


def build_manifest(
    scenario: Scenario,
    *,
    backends: Backend | str | Mapping[str, Backend | str],
    dataset: DatasetRecord,
    seed: int | None,
    concurrency: int,
    checkpoints: bool,
    prices: Mapping[str, tuple[float, float]],
    scenario_spec: str | None = None,
    command: Sequence[str] = (),
    retry_failed: bool = False,
) -> RunManifest:
    now = datetime.now(UTC)
    return RunManifest(
        scenario=scenario.name,
        scenario_spec=scenario_spec,
        scenario_fingerprint=scenario.fingerprint(),
        scenario_source_sha256=scenario_source_sha256(scenario_spec),
        protocol=scenario.protocol,
        rounds=scenario.rounds,
        agents=agent_records(with_seed(scenario, seed)),
        backends=describe_backends(backends),
        dataset=dataset,
        seed=seed,
        concurrency=concurrency,
        checkpoints=checkpoints,
        prices=dict(prices),
        packages=package_versions(),
        git_commit=git_commit(),
        created_at=now,
        sessions=[
            Session(started_at=now, command=[redact(arg) for arg in command], retry_failed=retry_failed)
        ],
    )


def continue_manifest(previous: RunManifest, current: RunManifest) -> RunManifest:
    """The manifest of a resumed run: the first session's facts, this invocation's settings, all sessions."""
    return current.model_copy(
        update={"created_at": previous.created_at, "sessions": [*previous.sessions, *current.sessions]}
    )
