"""Ensemble Refinement (Med-PaLM 2) on GSM8K: three agents each sample four reasoning paths, then each
refines its answer reading all twelve; the answer is the plurality of the refinements.

Sampling needs a backend that returns ``n`` completions per call (the
OpenAI-compatible, vLLM and transformers backends do). The worked solution in the
data stays hidden from everyone.
"""

from debate import Debater, SamplingParams, Scenario

_SAMPLING = SamplingParams(temperature=1.0, n=4)

scenario = Scenario(
    name="ensemble-refinement",
    agents=[Debater(f"agent_{i}", sampling=_SAMPLING) for i in (1, 2, 3)],
    protocol="ensemble_refinement",
    rounds=2,
    stop="fixed",
    answer="number",
    context_visibility={"solution": []},
)
