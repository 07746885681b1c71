"""GSM8K with Reflect-Critique-Refine whose round-1 turns branch, for persuasion-balanced pairs (PBT).

``gsm8k_rcr`` with ``branch_at=1``: in round 1 each debater that a peer
disagreed with also answers told to accept that peer's answer and told to keep
its own. The debate itself runs as ``gsm8k_rcr`` would; ``debate export RUN
--format pbt`` pairs the two continuations (labels from the debate, ``--label
gold`` when asked).
"""

from debate import Scenario
from debate.loading import load_scenario

_base = load_scenario("gsm8k_rcr")

scenario = Scenario.model_validate({**_base.model_dump(), "name": "gsm8k-pbt", "branch_at": 1})
