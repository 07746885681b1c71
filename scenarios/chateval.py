"""ChatEval on GSM8K: three role-played referees speak one by one for two rounds, then a judge gives the verdict.

The personas follow ChatEval's (a critic, a scientist, a member of the general
public), reworded for arithmetic. Use ``protocol="chateval_simultaneous"`` for its
simultaneous-talk strategy. The worked solution in the data stays hidden from everyone.
"""

from debate import Debater, Judge, Scenario

_PERSONAS = {
    "critic": "a critic who looks for the weakest step in every argument and says plainly where it fails",
    "scientist": "a scientist who sets up the problem formally and checks each calculation",
    "general_public": "a member of the general public who asks whether the answer makes sense in everyday terms",
}

scenario = Scenario(
    name="chateval",
    agents=[Debater(name, prompts={"debater.persona": persona}) for name, persona in _PERSONAS.items()],
    judge=Judge("judge"),
    protocol="chateval",
    rounds=2,
    stop="fixed",
    aggregate="judge",
    answer="number",
    context_visibility={"solution": []},
)
