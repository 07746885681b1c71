"""GSM8K simultaneous debate that first reads earlier mistakes (Alazraki et al. 2025, learning from mistakes in context).

Every debater's first-round prompt starts with up to three earlier questions,
each with a wrong answer and a right one side by side, taken from an earlier
run's ``results.jsonl`` (``debate.mistakes``). Set ``DEBATE_MISTAKES_FROM`` to
that file (e.g. a run of ``gsm8k_simultaneous`` on the train split) and
``DEBATE_MISTAKES_LABEL`` to ``consensus`` where the data has no gold answers;
without it the scenario runs with no examples. ``from_run`` builds the same
scenario from Python.
"""

import os
from pathlib import Path

from debate import Debater, Scenario
from debate.mistakes import MistakeLabel, mistake_examples, with_mistakes
from debate.transcript import load_results

base = Scenario(
    name="gsm8k-mistakes",
    agents=[Debater("a"), Debater("b"), Debater("c")],
    protocol="simultaneous",
    rounds=2,
    stop="fixed",
    answer="number",
    context_visibility={"solution": []},
)


def from_run(results: str | Path, label: MistakeLabel = "gold", limit: int = 3) -> Scenario:
    """``base`` with the mistakes of the run whose results are in ``results``."""
    return with_mistakes(base, mistake_examples(load_results(results), label=label, limit=limit), label=label)


_label: MistakeLabel = "consensus" if os.environ.get("DEBATE_MISTAKES_LABEL") == "consensus" else "gold"
_results = os.environ.get("DEBATE_MISTAKES_FROM")
scenario = from_run(_results, label=_label) if _results else base
