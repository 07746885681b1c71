"""`debate run --ray`: debates on Ray worker processes, the run directory as without Ray.

A local Ray runtime with two workers runs a few hundred debates against a local OpenAI-compatible server;
a worker killed with SIGKILL mid-run, or the driver killed and the command rerun, still leaves every debate
in results.jsonl exactly once. The Ray tests start real runtimes (seconds each) and are marked slow; the
settings checks at the top need no Ray.
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from debate import Debater, RunOptions, Scenario, ScriptedBackend
from debate.cli import main

ITEMS = 300

SCENARIO_FILE = """
from debate import Debater, Scenario

scenario = Scenario(name="ray-test", agents=[Debater(n) for n in "abc"], protocol="rcr", rounds=2, stop="fixed")
"""


# -- settings (no Ray needed) ----------------------------------------------------------------------


def test_workers_without_ray_are_refused_naming_the_setting():
    with pytest.raises(ValueError, match="workers are Ray workers' settings; give ray"):
        RunOptions(workers=2)
    with pytest.raises(ValueError, match="checkpoints are not available with ray"):
        RunOptions(ray="local", checkpoints=True)
    assert RunOptions(ray="auto", workers=4).workers == 4


def test_cli_says_which_flag_needs_ray(tmp_path, capsys):
    argv = ["run", "gsm8k_rcr", "--data", "gsm8k", "--limit", "2", "--out", str(tmp_path / "run")]
    assert main([*argv, "--backend", "scripted:#### 18", "--workers", "2"]) == 2
    assert "--workers: Value error, workers are Ray workers' settings" in capsys.readouterr().err


def test_without_ray_installed_the_error_says_what_to_install(tmp_path, monkeypatch):
    from debate.runner import run_dataset

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    scenario = Scenario(name="no-ray", agents=[Debater("a")], rounds=1)
    with pytest.raises(ValueError, match=r"pip install 'debate-graph\[ray\]', or run without --ray"):
        run_dataset(
            scenario,
            [],
            tmp_path / "run",
            backends=ScriptedBackend(default="#### 1"),
            options=RunOptions(ray="local"),
        )
    assert not (tmp_path / "run").exists()  # refused before the run directory was touched


# -- on a local Ray runtime -------------------------------------------------------------------------


@pytest.fixture
def server():
    from fake_openai_server import FakeOpenAIServer

    def answer(messages):
        return f"Let me see.\n#### {len(messages[-1]['content']) % 5}"

    with FakeOpenAIServer(answer, delay_s=0.05) as running:
        yield running


def prepare(tmp_path):
    (tmp_path / "ray_scenario.py").write_text(SCENARIO_FILE)
    rows = [{"question": f"Question number {i}?", "answer": str(i % 5)} for i in range(ITEMS)]
    (tmp_path / "questions.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))


def command(tmp_path, server, out="run"):
    return [
        sys.executable, "-m", "debate", "run", str(tmp_path / "ray_scenario.py"),
        "--data", str(tmp_path / "questions.jsonl"), "--out", str(tmp_path / out),
        "--backend", f"openai://{server.address}?model=fake-model", "--concurrency", "4", "--seed", "1",
        "--ray", "--workers", "2", "--progress", "log", "--log-every", "1",
    ]  # fmt: skip


def lines(run_dir: Path) -> int:
    path = run_dir / "results.jsonl"
    return path.read_bytes().count(b"\n") if path.exists() else 0


def debate_ids(run_dir: Path) -> list[str]:
    """Ids of the complete lines (a driver killed mid-write may leave a torn last one)."""
    text = (run_dir / "results.jsonl").read_text()
    return [json.loads(line)["transcript"]["debate_id"] for line in text[: text.rfind("\n") + 1].splitlines()]


def children() -> dict[int, list[int]]:
    """Parent pid -> child pids, from /proc."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(parent, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> list[int]:
    tree, found, stack = children(), [], [pid]
    while stack:
        for child in tree.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def title(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def wait_for(condition, process, timeout=120.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, "the run ended before the test could interrupt it"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def kill_all(pids):
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
def test_workers_asking_for_gpus_this_machine_lacks_are_refused(tmp_path, capsys):
    pytest.importorskip("ray")
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    argv = ["run", "gsm8k_rcr", "--data", "gsm8k", "--limit", "2", "--out", str(tmp_path / "run")]
    assert main([*argv, "--backend", "scripted:#### 18", "--ray", "--worker-gpus", "1"]) == 2
    assert (
        "worker_gpus: each worker asks for 1 GPUs, and this machine's Ray runtime has 0"
        in capsys.readouterr().err
    )
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_a_worker_killed_mid_run_loses_nothing_and_records_nothing_twice(tmp_path, server):
    pytest.importorskip("ray")
    prepare(tmp_path)
    run_dir = tmp_path / "run"
    driver = subprocess.Popen(
        command(tmp_path, server), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    started: list[int] = []
    try:
        wait_for(lambda: lines(run_dir) >= ITEMS // 5, driver)
        started = descendants(driver.pid)
        workers = [pid for pid in started if title(pid).startswith("ray::DebateWorker")]
        assert len(workers) == 2, [title(pid) for pid in started]
        os.kill(workers[0], signal.SIGKILL)
        out, err = driver.communicate(timeout=180)
    finally:
        driver.kill()
        kill_all(
            pid for pid in started if title(pid).startswith("ray::")
        )  # nothing of ours outlives the test
    assert driver.returncode == 0, err
    assert "ray: worker" in err and "was lost" in err and "run again" in err
    ids = debate_ids(run_dir)
    assert len(ids) == len(set(ids)) == ITEMS  # every debate exactly once
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["complete"] and summary["failed"] == 0 and summary["debates"] == ITEMS
    assert f"{ITEMS}/{ITEMS} debates, 0 failed" in out


@pytest.mark.slow
def test_the_driver_killed_mid_run_resumes_with_the_same_command(tmp_path, server):
    pytest.importorskip("ray")
    prepare(tmp_path)
    run_dir = tmp_path / "run"
    driver = subprocess.Popen(command(tmp_path, server), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started: list[int] = []
    try:
        wait_for(lambda: lines(run_dir) >= ITEMS // 4, driver)
        started = descendants(driver.pid)  # the local Ray runtime's processes: end them after the driver
        driver.send_signal(signal.SIGKILL)
        driver.wait(timeout=30)
    finally:
        driver.kill()
        kill_all(started)
    written = debate_ids(run_dir)
    assert ITEMS // 4 <= len(written) < ITEMS

    resumed = subprocess.run(command(tmp_path, server), capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr
    ids = debate_ids(run_dir)
    assert len(ids) == len(set(ids)) == ITEMS
    assert ids[: len(written)] == written  # what was written stays, in place
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert len(manifest["sessions"]) == 2 and "--ray" in manifest["sessions"][1]["command"]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["complete"] and summary["debates"] == ITEMS
    assert summary["debates_this_session"] == ITEMS - len(written)


FLAKY_SCENARIO = """
from debate import Debater, Scenario, ScriptedBackend, register_scheme

scenario = Scenario(name="ray-flaky", agents=[Debater(n) for n in "ab"], rounds=1, stop="fixed")


def flaky(rest):
    failing = tuple(f"-q{number}-" for number in rest.split(",") if number)
    return ScriptedBackend(default="#### 7", fail_if=lambda request: any(m in request.debate_id for m in failing))


register_scheme("flaky", flaky)
"""


@pytest.mark.slow
def test_retry_failed_and_max_failures_work_as_without_ray(tmp_path):
    """A scheme registered by the scenario file reaches the workers; failed debates rerun with --retry-failed."""
    pytest.importorskip("ray")
    (tmp_path / "flaky.py").write_text(FLAKY_SCENARIO)
    rows = [{"id": f"q{i}", "question": f"Question {i}?", "answer": "7"} for i in range(40)]
    (tmp_path / "data.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))

    def debate_run(backend, *extra):
        argv = [
            sys.executable, "-m", "debate", "run", str(tmp_path / "flaky.py"), "--data", str(tmp_path / "data.jsonl"),
            "--id-field", "id", "--out", str(tmp_path / "run"), "--backend", backend, "--ray", "--workers", "2",
            "--concurrency", "4", "--progress", "off", *extra,
        ]  # fmt: skip
        return subprocess.run(argv, capture_output=True, text=True, timeout=180)

    first = debate_run("flaky:3,17,29")
    assert first.returncode == 1, first.stderr
    assert "3 debates failed; rerun with --retry-failed" in first.stderr
    assert len(debate_ids(tmp_path / "run")) == 40

    retried = debate_run("flaky:", "--retry-failed")
    assert retried.returncode == 0, retried.stderr
    ids = debate_ids(tmp_path / "run")
    assert len(ids) == len(set(ids)) == 40
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["failed"] == 0 and summary["debates_this_session"] == 3 and summary["accuracy"] == 1.0
