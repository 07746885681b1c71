"""The testbed debate: Reflect-Critique-Refine (DTE) on the bundled arithmetic problems.

Three debaters, three rounds at most, everyone sees everyone, stop on
consensus, majority vote. Each debater solves with its own method
(``debate.arithmetic.METHOD_PROMPTS``: in order, last step first, changes
first), as DMAD's debaters reason differently: one model's samples slip on
the same digits, different methods slip on different problems, so the
debaters disagree where one of them is wrong. That is the diversity DTE's
hot first round is for, so every round is greedy (a hot first round made the
first answers worse than one greedy agent's: docs/testbed.md). Later rounds
show the peers' answers (``debate.arithmetic.PROMPTS``), the prompts the
embedded demo model learned.
"""

from debate import Debater, SamplingParams, Scenario
from debate.arithmetic import METHOD_PROMPTS, PROMPTS

scenario = Scenario(
    name="arithmetic-rcr",
    agents=[
        Debater(name, sampling=SamplingParams(max_tokens=64), prompts={"debater.system": prompt})
        for name, prompt in zip(("a", "b", "c"), METHOD_PROMPTS.values(), strict=True)
    ],
    protocol="rcr",
    rounds=3,
    topology="full",
    stop="consensus",
    answer="number",
    prompts=PROMPTS,
    temperature_schedule=[0.0, 0.0, 0.0],
    context_visibility={"solution": []},  # the gold worked solution: never shown to a debater
)
