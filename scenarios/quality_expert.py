"""QuALITY, the judge alone with the story: the expert baseline, the ceiling for debate.

Exactly ``quality_direct`` but for what the judge may read: only the
information condition differs. Expects QuALITY items, run with ``gold`` and
``metadata`` (see ``quality_debate``).
"""

from debate.scenarios.quality_direct import scenario as direct

from debate import Scenario

scenario = Scenario(
    **{**dict(direct), "name": "quality-expert", "context_visibility": {"passage": ["judge"]}}
)
