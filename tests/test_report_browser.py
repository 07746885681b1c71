"""The HTML report in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

Each test opens the report from disk (``file://``: no server), fails on any console
error or uncaught exception, and saves a screenshot under tests/artifacts/ (or
``$DEBATE_TEST_ARTIFACTS``). Skipped, with the reason, when Playwright or a
Chromium binary is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

from debate import load_results
from debate.report import write_report

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed: pip install 'debate[browser]'"
)
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
if CHROMIUM is None:
    pytest.skip("no Chromium binary: apt-get install chromium (as .ci/run does)", allow_module_level=True)

from test_report import PAYLOAD, make_large_run, make_run  # noqa: E402 - after the skips, like the imports it needs

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LARGE_RUN = 5000


@pytest.fixture(scope="module")
def artifacts() -> Path:
    folder = Path(os.environ.get("DEBATE_TEST_ARTIFACTS") or Path(__file__).parent / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def browser(run):
    """Needs ``run`` first: sync Playwright keeps an event loop running, in which ``run_dataset`` cannot start."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    """A fresh page; the test fails if the report logs an error or throws."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == []


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return make_run(tmp_path_factory.mktemp("browser") / "run")


@pytest.fixture(scope="module")
def report_url(run, tmp_path_factory) -> str:
    return write_report([run], tmp_path_factory.mktemp("report")).as_uri()


def open_debates(page, url: str) -> None:
    page.goto(url + "#/debates")
    page.wait_for_selector("#debate-list tbody tr")


def listed_count(page) -> int:
    return int(page.get_attribute("#list-status", "data-count"))


def test_the_summary_loads_with_its_tables_and_plots(page, report_url, artifacts):
    page.goto(report_url)

    assert page.is_visible("#summary-view") and not page.is_visible("#debates-view")
    assert page.locator("#runs tbody tr").count() == 1
    images = page.locator("#summary-view img")
    assert images.count() == 3
    assert all(width > 0 for width in images.evaluate_all("images => images.map(i => i.naturalWidth)"))
    page.screenshot(path=artifacts / "report-summary.png", full_page=True)


def test_the_incorrect_filter_shows_exactly_the_incorrect_debates(page, report_url, run, artifacts):
    results = list(load_results(run / "results.jsonl"))
    incorrect = sum(result.correct is False and not result.failed for result in results)
    assert incorrect == 2  # judge wrong on questions 3 and 9 (question 7 failed: a result of its own)

    open_debates(page, report_url)
    assert listed_count(page) == 10
    page.click("#filters button[data-filter='incorrect']")

    assert listed_count(page) == incorrect
    results = page.locator("#debate-list tbody td.result").all_text_contents()
    assert results == ["incorrect", "incorrect"]
    page.click("#filters button[data-filter='failed']")
    assert page.locator("#debate-list tbody td.result").all_text_contents() == ["failed"]
    page.screenshot(path=artifacts / "report-debates-incorrect.png")


def test_search_narrows_the_list_case_insensitively(page, report_url):
    open_debates(page, report_url)

    page.fill("#search", "WHAT IS 4 +")

    assert listed_count(page) == 1
    assert page.locator("#debate-list tbody a").all_text_contents() == ["What is 4 + 4?"]
    page.fill("#search", "")
    assert listed_count(page) == 10


def test_a_debate_opens_as_a_grid_of_agents_by_rounds_with_reply_links(page, report_url, artifacts):
    open_debates(page, report_url)
    page.fill("#search", "What is 2 +")

    page.click("#debate-list tbody tr")

    page.wait_for_selector("#grid")
    assert re.fullmatch(r".*#/debate/0/\d+", page.url)
    assert page.locator("#grid thead th").all_text_contents() == ["agent", "round 0", "round 1"]
    assert page.locator("#grid tbody tr th").all_text_contents() == ["a", "b", "c", "judge"]
    assert page.locator("#grid .msg").count() == 7
    outcome = page.locator("dl.outcome").inner_text()
    assert "gold\n4" in outcome and "judge verdict\n4" in outcome
    first_link = page.locator("#grid tr[data-author='a'] button.ref").first
    assert first_link.inner_text() == "a · round 0 · argument"
    first_link.click()
    assert "flash" in page.locator("#grid tr[data-author='a'] td").first.locator(".msg").get_attribute(
        "class"
    )
    page.screenshot(path=artifacts / "report-debate.png", full_page=True)

    page.click("text=← debates")
    assert page.input_value("#search") == "What is 2 +" and listed_count(page) == 1


def test_html_in_model_text_is_shown_as_text_and_runs_nothing(page, report_url, artifacts):
    open_debates(page, report_url)
    page.fill("#search", "What is 0 +")
    page.click("#debate-list tbody tr")
    page.wait_for_selector("#grid")

    assert page.evaluate("window.__pwned") is None
    assert page.locator("#grid img").count() == 0 and page.locator("#grid script").count() == 0
    assert PAYLOAD in page.locator("#grid tr[data-author='a'] .text").first.inner_text()
    page.screenshot(path=artifacts / "report-escaped.png")


def test_five_thousand_debates_open_on_their_first_page(page, run, tmp_path, artifacts):
    large = make_large_run(tmp_path / "large", LARGE_RUN, manifest_from=run)
    url = write_report([large], tmp_path / "report").as_uri()

    started = time.perf_counter()
    open_debates(page, url)
    seconds = time.perf_counter() - started

    print(f"\n{LARGE_RUN} debates: list rendered {seconds:.2f} s after navigation")
    assert listed_count(page) == LARGE_RUN
    assert page.locator("#debate-list tbody tr").count() == 50
    assert page.inner_text("#page-info") == f"page 1 of {LARGE_RUN // 50}"
    page.click("#next")
    assert page.locator("#debate-list tbody td").first.inner_text() == "50"
    page.click("#filters button[data-filter='changed']")
    assert listed_count(page) == len(range(0, LARGE_RUN, 3)) - len(range(0, LARGE_RUN, 9))
    page.screenshot(path=artifacts / "report-large.png")
