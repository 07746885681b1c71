"""Solo Performance Prompting on GSM8K: one model, one call, several personas collaborating in its response.

The worked solution in the data stays hidden.
"""

from debate import Debater, Scenario

scenario = Scenario(
    name="spp",
    agents=[Debater("assistant")],
    protocol="spp",
    rounds=1,
    stop="fixed",
    answer="number",
    context_visibility={"solution": []},
)
