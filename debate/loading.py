"""Finding scenarios by name or path.

A scenario is a plain Python module that defines ``scenario`` (a ``Scenario``).
``gsm8k_rcr`` finds ``debate.scenarios.gsm8k_rcr`` (the repository's ``scenarios/gsm8k_rcr.py``);
``path/to/my_scenario.py`` loads that file.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from pathlib import Path

from debate.scenario import Scenario


def load_scenario(spec: str) -> Scenario:
    """Load a scenario from a registered name (module in ``scenarios/``) or a ``.py`` path."""
    if spec.endswith(".py") or "/" in spec:
        path = Path(spec)
        if not path.is_file():
            raise ValueError(f"scenario file {spec!r} does not exist")
        module_spec = importlib.util.spec_from_file_location(f"_debate_scenario_{path.stem}", path)
        assert module_spec is not None and module_spec.loader is not None
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(f"debate.scenarios.{spec}")
        except ModuleNotFoundError as error:
            if error.name != f"debate.scenarios.{spec}":
                raise
            raise ValueError(f"unknown scenario {spec!r}; registered: {scenario_names()}") from None
    found = getattr(module, "scenario", None)
    if not isinstance(found, Scenario):
        raise ValueError(f"scenario module {spec!r} must define `scenario = Scenario(...)`")
    return found


def scenario_names() -> list[str]:
    import debate.scenarios as scenarios

    return sorted(
        info.name for info in pkgutil.iter_modules(scenarios.__path__) if not info.name.startswith("_")
    )
