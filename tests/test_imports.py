"""`debate` is the one import a user needs, and the packages import in any order."""

import subprocess
import sys

import pytest

import debate


@pytest.mark.parametrize(
    "first",
    [
        "debate.agents.backends",
        "debate.agents",
        "debate.messages",
        "debate",
        "debate.agents.roles",
        "debate.graph",
    ],
)
def test_modules_import_in_any_order(first):
    code = f"import {first}; from debate import Scenario, Debater, ScriptedBackend, run_debate"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_everything_exported_resolves():
    for name in debate.__all__:
        assert getattr(debate, name) is not None, name


def test_import_debate_does_not_import_heavy_optional_packages():
    code = "import sys, debate; debate.Scenario; print(sorted(m for m in ('torch', 'transformers', 'vllm', 'trl') if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=120
    ).stdout
    assert out.strip() == "[]"


def test_unknown_names_raise_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        debate.Nope  # noqa: B018
