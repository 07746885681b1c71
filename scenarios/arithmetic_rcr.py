"""The testbed debate: Reflect-Critique-Refine (DTE) on the bundled arithmetic problems.

Three debaters, three rounds at most, everyone sees everyone, stop on
consensus, majority vote. Round 0 samples hot for diverse first answers;
later rounds cool down, as DTE's temperature schedule does. The prompts are
the task's short ones (``debate.arithmetic.PROMPTS``), the ones the embedded
demo model learned.
"""

from debate import Debater, SamplingParams, Scenario
from debate.arithmetic import PROMPTS

scenario = Scenario(
    name="arithmetic-rcr",
    agents=[Debater(name, sampling=SamplingParams(max_tokens=64)) for name in ("a", "b", "c")],
    protocol="rcr",
    rounds=3,
    topology="full",
    stop="consensus",
    answer="number",
    prompts=PROMPTS,
    temperature_schedule=[1.0, 0.3, 0.3],
    context_visibility={"solution": []},
)
