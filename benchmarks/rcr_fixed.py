"""The scenario of ``benchmarks/run_cli.py``: RCR, three debaters, three rounds, no early stop (9 calls a debate).

``debate run benchmarks/rcr_fixed.py`` loads it like any scenario file. It
also registers a ``sleep:MS`` backend scheme (the scripted backend answering
``#### 42`` after MS milliseconds), so that the end-to-end benchmark can run
the CLI without HTTP at the same latency as its server; a scenario file may
register schemes because it loads before backends resolve.
"""

from debate.agents.backends import ScriptedBackend, register_scheme

from debate import Debater, Scenario

scenario = Scenario(
    name="bench-rcr-fixed",
    agents=[Debater("a"), Debater("b"), Debater("c")],
    protocol="rcr",
    rounds=3,
    topology="full",
    stop="fixed",
    answer="number",
)

register_scheme(
    "sleep",
    lambda rest: ScriptedBackend(
        default="17 * 23 = 391.\n#### 391", latency_s=float(rest or 0) / 1000, record=False
    ),
)
