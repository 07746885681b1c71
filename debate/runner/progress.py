"""Progress of a run: debates done/total, failures, debates without an answer, running accuracy, tokens/s and ETA.

On a terminal this is a tqdm bar; when stderr is not a terminal (CI, ``nohup``,
a job scheduler's log) it is one line every ``log_every_s`` seconds, so logs
stay readable instead of filling with carriage returns.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Literal, TextIO

from debate.runner.run_dir import FinishedDebate, ResultIndex
from debate.transcript import Outcome

ProgressMode = Literal["auto", "bar", "log", "off"]


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


def resolve_mode(mode: ProgressMode | bool, stream: TextIO | None = None) -> ProgressMode:
    """``auto`` (or ``True``) as ``bar`` on a terminal and ``log`` otherwise; ``False`` is ``off``."""
    if mode is True or mode == "auto":
        return "bar" if (stream or sys.stderr).isatty() else "log"
    return "off" if mode is False else mode


def quiet_library_bars() -> None:
    """No bars outside ``bar`` mode, the model libraries' included (transformers' "Loading weights",
    the dataset passes TRL makes before training).

    Nothing is imported for it: a run over HTTP never loads these libraries.
    """
    # read when each library is first imported; transformers starts with its bars off then
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")
    if (hub := sys.modules.get("huggingface_hub.utils")) is not None:
        hub.disable_progress_bars()
    if (transformers_logging := sys.modules.get("transformers.utils.logging")) is not None:
        transformers_logging.disable_progress_bar()
    if (datasets_bars := sys.modules.get("datasets.utils.tqdm")) is not None:
        datasets_bars.disable_progress_bars()


class Progress:
    """Counts what the run has (results from earlier sessions included) and shows it."""

    def __init__(
        self,
        total: int | None,
        already: ResultIndex | None = None,
        *,
        mode: ProgressMode = "auto",
        stream: TextIO | None = None,
        log_every_s: float = 30.0,
        label: str = "debate run",
    ) -> None:
        already = already or ResultIndex()
        self.total = total
        self.stream = stream or sys.stderr
        self.label = label
        self.log_every_s = log_every_s
        self.done = len(already.done)
        self.failed = len(already.failed)
        self.no_answer = already.no_answer
        self.correct = already.correct
        self.with_gold = already.with_gold
        self.session_debates = 0
        self.session_tokens = 0
        self._started = time.monotonic()
        self._last_log = self._started
        self.mode = mode = resolve_mode(mode, self.stream)
        self._bar = None
        if mode == "bar":
            from tqdm import tqdm

            self._bar = tqdm(
                total=total,
                initial=self.done,
                file=self.stream,
                unit="debate",
                dynamic_ncols=True,
                smoothing=0.05,
            )

    # -- numbers -----------------------------------------------------------------------

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self._started

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.with_gold if self.with_gold else None

    @property
    def tokens_per_s(self) -> float:
        return self.session_tokens / max(self.elapsed_s, 1e-9)

    @property
    def eta_s(self) -> float | None:
        if self.total is None or not self.session_debates:
            return None
        return max(self.total - self.done, 0) * self.elapsed_s / self.session_debates

    def describe(self) -> str:
        total = f"/{self.total}" if self.total is not None else ""
        parts = [f"{self.done}{total} debates"]
        if self.no_answer:
            parts.append(f"{self.no_answer} without answer")
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.accuracy is not None:
            parts.append(f"acc {self.accuracy:.3f}")
        parts.append(f"{self.tokens_per_s:,.0f} tok/s")
        parts.append(f"{self.session_debates / max(self.elapsed_s, 1e-9):.2f} debates/s")
        if self.eta_s is not None and self.done < (self.total or 0):
            parts.append(f"eta {format_duration(self.eta_s)}")
        return " · ".join(parts)

    # -- events ------------------------------------------------------------------------

    def update(self, finished: FinishedDebate) -> None:
        self.done += 1
        self.session_debates += 1
        self.session_tokens += finished.tokens
        self.failed += int(finished.outcome is Outcome.FAILED)
        self.no_answer += int(finished.outcome is Outcome.NO_ANSWER)
        if finished.has_gold:
            self.with_gold += 1
            self.correct += int(finished.correct)
        if self._bar is not None:
            accuracy = f"acc={self.accuracy:.3f} " if self.accuracy is not None else ""
            no_answer = f" no_answer={self.no_answer}" if self.no_answer else ""
            self._bar.set_postfix_str(
                f"{accuracy}tok/s={self.tokens_per_s:,.0f}{no_answer} failed={self.failed}", refresh=False
            )
            self._bar.update(1)
        elif self.mode == "log" and time.monotonic() - self._last_log >= self.log_every_s:
            self.log(self.describe())

    def log(self, text: str) -> None:
        """A line for the user, above the bar when there is one."""
        self._last_log = time.monotonic()
        if self.mode == "off":
            return
        if self._bar is not None:
            self._bar.write(f"{self.label}: {text}", file=self.stream)
        else:
            print(f"{self.label}: {text}", file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.mode == "log":
            self.log(self.describe())
