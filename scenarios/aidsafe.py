"""AIDSAFE: three agents deliberate over the bundled five-rule safety policy, a refiner cleans the chain of
thought, and an ear-whisperer (a Critic) writes a false belief that steers a second, rejected refinement.

Run it on the bundled requests (``--data aidsafe``: eight requests, each with the
decision the policy calls for, ``comply`` or ``refuse``, as gold), then export the
refined chains for SFT (``--format aidsafe``) and refined-over-belief-augmented
pairs for DPO (``--format aidsafe_dpo``).
"""

from debate import Critic, Debater, Refiner, SamplingParams, Scenario

scenario = Scenario(
    name="aidsafe",
    agents=[
        *(Debater(f"deliberator_{i}", sampling=SamplingParams(temperature=0.7)) for i in range(1, 4)),
        Refiner("refiner", sampling=SamplingParams(temperature=0.2)),
        Critic("whisperer", sampling=SamplingParams(temperature=1.0)),
    ],
    protocol="aidsafe",
    rounds=3,
    stop="consensus",
    answer="text",
)
