"""QuALITY-style reading comprehension by SR-DCR: trust the passage, or the model's own knowledge?

The defender reads the passage (``context["passage"]``, as ``load_quality`` gives
it) and answers from it; the critic answers closed-book, and how sure it is of
that answer is measured from the probability its model gave the answer's tokens
(the backend must return log-probabilities; without them the critic's stated
``Confidence:`` line is used). When the two disagree they debate for two rounds
and the judge, who does not read the passage either, picks a side. The passage's
answer stands unless the judge sides with the critic and the critic is at least
80% sure (``debate/protocols/sr_dcr.py``). Run it on items whose passages were
edited to contradict common knowledge to see the rule at work.
"""

from debate import Critic, Debater, Judge, SamplingParams, Scenario

scenario = Scenario(
    name="sr-dcr",
    agents=[Debater("defender"), Critic("critic", sampling=SamplingParams(temperature=0.0, logprobs=True))],
    judge=Judge("judge", sampling=SamplingParams(temperature=0.0)),
    protocol="sr_dcr",
    rounds=3,
    stop="fixed",
    answer="choice",
    context_visibility={"passage": ["debater"]},
)
