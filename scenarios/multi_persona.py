"""Multi-Persona (DebateLLM) on GSM8K: an angel and a devil's advocate, a moderator, agreement intensity 90%.

DebateLLM found Multi-Persona did well once the sides were told to agree more
(intensity 90% here: "incorporate the other side's opinions 90% of the time");
change ``agreement_intensity`` (0-100) to sweep it. At most three rounds; the
moderator may stop early. The worked solution in the data stays hidden from everyone.
"""

from debate import Debater, Judge, Scenario

scenario = Scenario(
    name="multi-persona",
    agents=[Debater("angel"), Debater("devil")],
    judge=Judge("moderator"),
    protocol="multi_persona",
    rounds=3,
    stop="judge",
    answer="number",
    agreement_intensity=90,
    context_visibility={"solution": []},
)
