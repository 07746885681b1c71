"""Medprompt (Nori et al. 2023, as in DebateLLM) on GSM8K: five ensemble members, each prompted with the five
bundled GSM8K train questions most similar to the question (TF-IDF cosine) and their worked solutions, think
step by step; the answer is the majority.

With ``answer="choice"`` and multiple-choice items (QuALITY's ``metadata["options"]``, or
``A. ...`` lines) each member sees the options in a different order and its letter is
mapped back before the vote: the choice-shuffle ensemble. The item's worked solution
stays hidden from everyone.
"""

from debate import Debater, SamplingParams, Scenario

scenario = Scenario(
    name="medprompt",
    agents=[Debater(f"member_{i}", sampling=SamplingParams(temperature=0.7)) for i in range(1, 6)],
    protocol="medprompt",
    rounds=1,
    stop="fixed",
    answer="number",
    context_visibility={"solution": []},
)
