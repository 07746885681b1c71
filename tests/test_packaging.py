"""Issue 15: the wheel ships every package and data file, under one top-level import package, `debate`.

The repository keeps `debate/`, `agents/` and `scenarios/` at its top level; the wheel maps the last two
to `debate.agents` and `debate.scenarios` (pyproject's `[tool.setuptools] package-dir`). The fast tests
check that pyproject's explicit `packages` list names every folder that holds a file, and that a wheel
built from this checkout holds exactly those files and nothing at the top level but `debate/` and its
dist-info. The slow tests install the wheel beside the OpenAI Agents SDK (`openai-agents`, whose import
package is also called `agents`) in fresh venvs, in both install orders, and run the `debate` command
there, from a directory outside the repository.
"""

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path, PurePosixPath

import pytest

REPO = Path(__file__).resolve().parents[1]
DISTRIBUTION = "debate-graph"
# Repository folder -> where its files lie in the installed `debate` package.
INSTALLED_AS = {"debate": "debate", "agents": "debate/agents", "scenarios": "debate/scenarios"}
# The CPU build: pip picks it from the machine's local wheels; elsewhere set this to pick a build.
TORCH = os.environ.get("DEBATE_TEST_TORCH", "torch==2.13.0")
PIP_TIMEOUT_S = 900
RUN_TIMEOUT_S = 180


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def checkout_files() -> list[str]:
    """The files a build of this checkout sees: tracked, or new and not ignored (as `git ls-files`)."""
    try:
        listed = subprocess.run(
            ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return sorted({path for path in listed.split("\0") if path and (REPO / path).is_file()})


def installed_path(repo_path: str) -> str | None:
    """`agents/prompts/rcr.toml` -> `debate/agents/prompts/rcr.toml`; None outside the package folders."""
    root, _, rest = repo_path.partition("/")
    if root not in INSTALLED_AS:
        return None
    return f"{INSTALLED_AS[root]}/{rest}" if rest else INSTALLED_AS[root]


def package_files() -> set[str]:
    """Every checkout file under debate/, agents/ and scenarios/, at its installed path."""
    return {path for path in map(installed_path, checkout_files()) if path is not None}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built from a copy of this checkout (no stale build/ folder can leak into it)."""
    source = tmp_path_factory.mktemp("source")
    for path in checkout_files():
        (source / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / path, source / path)
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)]
    if _has_setuptools(77):  # as [build-system] requires; else pip fetches it into an isolated build env
        command.insert(4, "--no-build-isolation")
    subprocess.run(command, check=True, timeout=PIP_TIMEOUT_S, cwd=source)
    (built,) = out.glob("*.whl")
    return built


def _has_setuptools(major: int) -> bool:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return int(version("setuptools").split(".")[0]) >= major
    except (PackageNotFoundError, ValueError):
        return False


def test_package_dir_maps_agents_and_scenarios_into_debate(pyproject):
    package_dir = pyproject["tool"]["setuptools"]["package-dir"]
    assert package_dir == {installed.replace("/", "."): folder for folder, installed in INSTALLED_AS.items()}


def test_packages_list_names_every_folder_that_holds_a_file(pyproject):
    listed = pyproject["tool"]["setuptools"]["packages"]
    assert len(listed) == len(set(listed)), "a package is listed twice"
    folders = {str(PurePosixPath(path).parent).replace("/", ".") for path in package_files()}
    missing, stale = sorted(folders - set(listed)), sorted(set(listed) - folders)
    assert not missing, f"add these to [tool.setuptools] packages in pyproject.toml: {missing}"
    assert not stale, f"[tool.setuptools] packages names folders with no files: {stale}"


def test_wheel_holds_exactly_the_files_of_the_package_folders(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = {name for name in archive.namelist() if not name.split("/")[0].endswith(".dist-info")}
    expected = package_files()
    missing, extra = sorted(expected - names), sorted(names - expected)
    assert not missing, f"not in the wheel (a module or data file left out? see package-data): {missing}"
    assert not extra, f"in the wheel but not in the checkout: {extra}"
    # What issue 15 named: prompts and the built-in datasets ship.
    assert any(re.fullmatch(r"debate/agents/prompts/\w+\.toml", name) for name in names)
    assert "debate/data/gsm8k/test.jsonl" in names


def test_wheel_record_lists_only_debate_at_the_top_level(wheel, pyproject):
    version = pyproject["project"]["version"]
    dist_info = f"{DISTRIBUTION.replace('-', '_')}-{version}.dist-info"
    with zipfile.ZipFile(wheel) as archive:
        record = archive.read(f"{dist_info}/RECORD").decode()
        top_level_txt = archive.read(f"{dist_info}/top_level.txt").decode().split()
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode()
    top_level = {row[0].split("/")[0] for row in csv.reader(io.StringIO(record)) if row}
    assert top_level == {"debate", dist_info}
    assert top_level_txt == ["debate"]
    assert re.search(r"^debate = debate\.cli:main$", entry_points, re.MULTILINE)


# --- slow: install beside the OpenAI Agents SDK in fresh venvs ---------------------------------------

INSTALL_ORDERS = {
    "openai-agents-first": ["openai-agents", "WHEEL"],
    "debate-graph-first": ["WHEEL", "openai-agents"],
}


def _clean_env(bin_dir: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"}}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    if bin_dir is not None:
        env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="module", params=list(INSTALL_ORDERS))
def installed(request, wheel, tmp_path_factory) -> Path:
    """A fresh venv holding torch (installed first), then openai-agents and the wheel in one order.

    Every install uses pip's usual cache (PIP_CACHE_DIR or the user's), so the second venv, and later
    runs, reuse the downloads of the first.
    """
    env_dir = tmp_path_factory.mktemp(request.param) / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True, timeout=300, env=_clean_env())
    bin_dir = env_dir / "bin"
    for requirement in [TORCH, *INSTALL_ORDERS[request.param]]:
        requirement = str(wheel) if requirement == "WHEEL" else requirement
        subprocess.run(
            [str(bin_dir / "python"), "-m", "pip", "install", "-q", requirement],
            check=True,
            timeout=PIP_TIMEOUT_S,
            env=_clean_env(),
            cwd=env_dir,
        )
    return bin_dir


def _run(bin_dir: Path, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run a command of the venv from `cwd`, a directory outside the repository."""
    assert REPO not in cwd.resolve().parents
    return subprocess.run(
        [str(bin_dir / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        env=_clean_env(bin_dir),
        cwd=cwd,
    )


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_openai_agents_sdk_imports_beside_debate(installed, tmp_path):
    code = (
        "import importlib.util, agents, debate, debate.agents, debate.scenarios\n"
        "from agents import Agent, Runner\n"
        "from debate import Debater, Scenario, ScriptedBackend, run_debate\n"
        "assert importlib.util.find_spec('scenarios') is None, 'a top-level scenarios is installed'\n"
        "print(agents.__file__)\n"
    )
    completed = _run(installed, ["python", "-c", code], tmp_path)
    assert completed.returncode == 0, completed.stderr
    # The SDK's `agents`, in site-packages, not ours (which lives at debate/agents).
    assert Path(completed.stdout.strip()).parent.name == "agents"
    assert Path(completed.stdout.strip()).parent.parent.name == "site-packages"


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_debate_ask_with_a_scripted_backend_in_the_installed_venv(installed, tmp_path):
    # As README's quickstart writes it (the \n reaches the backend as the two characters).
    backend = "scripted:12 * 7 = 84\\n#### 84"
    completed = _run(
        installed, ["debate", "ask", "gsm8k_rcr", "What is 12 * 7?", "--backend", backend], tmp_path
    )
    assert completed.returncode == 0, completed.stderr
    assert re.search(r"^=== final answer: 84\b", completed.stdout, re.MULTILINE), completed.stdout


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_debate_run_on_the_built_in_dataset_in_the_installed_venv(installed, tmp_path):
    """A registered scenario on the bundled GSM8K file: the data files ship and the run finds its scenario."""
    out = tmp_path / "run"
    args = ["debate", "run", "gsm8k_rcr", "--data", "gsm8k", "--limit", "2", "--out", str(out)]
    completed = _run(installed, [*args, "--backend", "scripted:#### 18", "--progress", "off"], tmp_path)
    assert completed.returncode == 0, completed.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["debates"], summary["failed"], summary["with_gold"]) == (2, 0, 2)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scenario_source_sha256"], "the scenario's source file was not found"


def test_registered_scenarios_resolve_outside_the_repository(tmp_path):
    """Run from elsewhere, the repository's top-level folders are not importable: names go through debate.scenarios."""
    code = (
        "import importlib.util, sys; from debate.loading import load_scenario; "
        "from debate.runner.manifest import scenario_source_sha256; "
        "assert importlib.util.find_spec('scenarios') is None, 'the repository root is on sys.path'; "
        "print(load_scenario('gsm8k_rcr').name, scenario_source_sha256('gsm8k_rcr') is not None)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert out.split() == ["gsm8k-rcr", "True"]
