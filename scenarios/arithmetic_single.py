"""The testbed baseline: one agent, one round, greedy, with the same prompt as round 0 of ``arithmetic_rcr``."""

from debate import Debater, SamplingParams, Scenario
from debate.arithmetic import PROMPTS

scenario = Scenario(
    name="arithmetic-single",
    agents=[Debater("solver", sampling=SamplingParams(temperature=0.0, max_tokens=64))],
    protocol="rcr",
    rounds=1,
    stop="fixed",
    answer="number",
    prompts=PROMPTS,
    context_visibility={"solution": []},
)
