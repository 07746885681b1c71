"""The testbed debate (``arithmetic_rcr``) with debaters' token log-probabilities on.

Everything else is ``scenarios/arithmetic_rcr.py``'s. The demo model cannot
state a confidence, so the summary and the report score calibration per round
from its own probability of writing its answer (the answer tokens' probability
in each message's log-prob summary).
"""

from debate import Debater, SamplingParams, Scenario
from debate.arithmetic import PROMPTS

scenario = Scenario(
    name="arithmetic-rcr-logprobs",
    agents=[Debater(name, sampling=SamplingParams(max_tokens=64, logprobs=True)) for name in ("a", "b", "c")],
    protocol="rcr",
    rounds=3,
    topology="full",
    stop="consensus",
    answer="number",
    prompts=PROMPTS,
    temperature_schedule=[1.0, 0.3, 0.3],
    context_visibility={"solution": []},
)
