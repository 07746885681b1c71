"""The testbed debate (``arithmetic_rcr``) with debaters' token log-probabilities on.

Everything else is ``arithmetic_rcr``'s. The demo model cannot state a
confidence, so the summary and the report score calibration per round from
its own probability of writing its answer (the answer tokens' probability in
each message's log-prob summary).
"""

from debate.loading import load_scenario

_base = load_scenario("arithmetic_rcr")

scenario = _base.model_copy(
    update={
        "name": "arithmetic-rcr-logprobs",
        "agents": [
            agent.model_copy(update={"sampling": agent.sampling.model_copy(update={"logprobs": True})})
            for agent in _base.agents
        ],
    }
)
