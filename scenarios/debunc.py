"""Uncertainty-aware debate (DebUnc, Yoffe et al. 2024) on GSM8K: three agents, three rounds, majority vote.

Every later-round prompt shows each peer's confidence on a 1-10 scale, measured
from the probability its model gave its answer (the backend must return
log-probabilities: the OpenAI-compatible, vLLM and transformers backends do).
Where a server returns none, the debater's own ``Confidence:`` line is shown
instead. The worked solution in the data stays hidden from everyone.
"""

from debate import Debater, SamplingParams, Scenario

_SAMPLING = SamplingParams(temperature=0.7, logprobs=True)

scenario = Scenario(
    name="debunc",
    agents=[Debater(f"agent_{i}", sampling=_SAMPLING) for i in (1, 2, 3)],
    protocol="debunc",
    rounds=3,
    stop="fixed",
    answer="number",
    context_visibility={"solution": []},
)
