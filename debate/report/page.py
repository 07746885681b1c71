"""The report as one self-contained HTML file: inline CSS, inline vanilla JS, plots as data: URIs.

Why it is safe to open a report of untrusted model output:

- the summary is rendered here, in Python, with every value through ``html.escape``;
- the debates travel as JSON in ``<script type="application/json">`` with ``<``, ``>``,
  ``&`` and U+2028/U+2029 written as ``\\uXXXX``, so no text can close the tag;
- the script puts model text into the page only through ``textContent`` / text nodes;
- a Content-Security-Policy forbids every network request (no CDN, no beacon, no font).

Why it stays fast on 5,000 debates: the list is paginated (``PAGE_SIZE`` rows are
drawn at a time) and a debate's messages are turned into DOM only when it is opened.
Routes are hashes: ``#/summary``, ``#/debates``, ``#/debate/<run>/<index>``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

from debate.metrics import Estimate, PrivateConfidence
from debate.report.data import RunReport
from debate.report.plots import Plot
from debate.summary import DebateNote

PAGE_SIZE = 50

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
)

_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def script_json(data: Any) -> str:
    """JSON that is inert inside a ``<script>`` element (those characters only occur inside JSON strings)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in _JSON_ESCAPES.items():
        text = text.replace(raw, escaped)
    return text


def render_page(runs: Sequence[RunReport], plots: Sequence[Plot], judges: Mapping[str, Estimate]) -> str:
    data = {
        "pageSize": PAGE_SIZE,
        "runs": [{"label": run.label, "debates": run.debates} for run in runs],
    }
    title = "Debate report: " + ", ".join(run.label for run in runs)
    return "".join(
        [
            "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>",
            f"<meta http-equiv='Content-Security-Policy' content=\"{CONTENT_SECURITY_POLICY}\">",
            "<meta name='viewport' content='width=device-width, initial-scale=1'>",
            "<link rel='icon' href='data:,'>",
            f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>",
            "<nav><a href='#/summary' id='nav-summary'>Summary</a><a href='#/debates' id='nav-debates'>Debates</a>",
            f"<span class='title'>{escape(title)}</span></nav>",
            "<main>",
            f"<section id='summary-view'>{summary_html(runs, plots, judges)}</section>",
            f"<section id='debates-view' hidden>{debates_controls_html(runs)}</section>",
            "<section id='debate-view' hidden></section>",
            "</main>",
            f"<script type='application/json' id='data'>{script_json(data)}</script>",
            f"<script>{SCRIPT}</script>",
            "</body></html>\n",
        ]
    )


# -- summary (server-side, escaped) -----------------------------------------------------------


def summary_html(runs: Sequence[RunReport], plots: Sequence[Plot], judges: Mapping[str, Estimate]) -> str:
    parts = ["<h1>Summary</h1>", runs_table(runs)]
    if judges:
        parts += [
            "<h2>Judge accuracy per protocol</h2>",
            table(
                ["protocol", "accuracy", "95% interval", "debates"],
                [
                    [name, percent(e.value), f"{percent(e.low)} – {percent(e.high)}", e.n]
                    for name, e in sorted(judges.items())
                ],
                table_id="judge-accuracy",
            ),
        ]
    if plots:
        parts.append("<h2>Plots</h2><div class='plots'>")
        parts += [
            f"<figure><img src='{plot.data_uri}' alt='{escape(plot.title)}'>"
            f"<figcaption>{escape(plot.title)} <code>plots/{escape(plot.name)}.png</code></figcaption></figure>"
            for plot in plots
        ]
        parts.append("</div>")
    parts += [run_details(run) for run in runs]
    return "".join(parts)


def runs_table(runs: Sequence[RunReport]) -> str:
    rows = []
    for run in runs:
        s = run.summary
        rows.append(
            [
                run.label,
                run.scenario,
                run.protocol,
                ", ".join(run.models),
                s.debates,
                s.no_answer,
                s.failed,
                percent(s.accuracy),
                number(run.tokens_per_question, 0),
                number(run.seconds_per_question, 2),
                money(run.cost_per_question),
                number(run.calibration.ece if run.calibration else None, 3),
            ]
        )
    headers = ["run", "scenario", "protocol", "models", "debates", "without answer", "failed", "accuracy"]
    headers += ["tokens / question", "seconds / question", "cost / question", "debater ECE"]
    return table(headers, rows, table_id="runs")


def private_confidence_section(private: PrivateConfidence) -> list[str]:
    """Debaters' confidence per round (stated, or from log-probs): calibration against gold, escalation,
    mutual overconfidence; the heading names the confidence's source."""
    calibrations = private.calibration_per_round
    escalation = (
        f"from first to last turn, confidence changed by {number(private.escalation, 3)} on average; "
        f"{private.escalated} of {private.compared} debaters ended surer"
        if private.escalation is not None
        else "no debater stated a confidence twice"
    )
    overconfidence = (
        f"in {percent(private.mutual_overconfidence)} of {private.contested_rounds} contested rounds "
        "the debaters' confidences summed past 100%"
        if private.mutual_overconfidence is not None
        else "no contested round with every confidence stated"
    )
    counted = "; ".join(
        part
        for part in (
            f"{private.stated} confidences stated, never shown to peers or the judge"
            if private.stated
            else "",
            f"{private.from_logprobs} answer-token probabilities from debater log-probs"
            if private.from_logprobs
            else "",
        )
        if part
    )
    return [
        f"<h3>Confidence per round ({escape(private.source)})</h3>",
        f"<p class='muted'>{escape(counted)}; {escape(escalation)}; {escape(overconfidence)}.</p>",
        table(
            ["round", "answers scored", "mean confidence", "accuracy", "ECE"],
            [
                [
                    r,
                    c.n,
                    number(private.mean_per_round[r], 3),
                    percent(sum(b.accuracy * b.count for b in c.bins) / c.n if c.n else None),
                    number(c.ece if c.n else None, 3),
                ]
                for r, c in enumerate(calibrations)
            ],
            css_class="private-confidence",
        ),
    ]


def run_details(run: RunReport) -> str:
    s = run.summary
    rounds = max(len(s.accuracy_per_round), len(s.consensus_per_round), len(s.answer_changes_per_round))
    parts = [
        f"<section class='run'><h2>{escape(run.label)}</h2>",
        f"<p class='muted'>{escape(run.path)} · {s.debates} debates: {s.answered} answered, "
        f"{s.no_answer} without an answer, {s.failed} failed; {s.with_gold} with gold, "
        f"{s.sycophancy} sycophantic switches</p>",
        "<h3>Per round</h3>",
        table(
            ["round", "accuracy (majority)", "consensus", "answer changes"],
            [
                [
                    r,
                    percent(at(s.accuracy_per_round, r)),
                    percent(at(s.consensus_per_round, r)),
                    at(s.answer_changes_per_round, r),
                ]
                for r in range(rounds)
            ],
        ),
    ]
    if s.private_confidence is not None:
        parts += private_confidence_section(s.private_confidence)
    if s.flips_per_agent:
        parts += [
            "<h3>Answer flips per agent</h3>",
            table(
                ["agent", "right → wrong", "wrong → right", "wrong → wrong"],
                [
                    [agent, f.right_to_wrong, f.wrong_to_right, f.wrong_to_wrong]
                    for agent, f in s.flips_per_agent.items()
                ],
                css_class="flips",
            ),
        ]
    parts += [
        "<h3>Tokens and time per agent</h3>",
        table(
            ["agent", "calls", "prompt tokens", "completion tokens", "model seconds"],
            [
                [
                    name,
                    c.calls,
                    c.prompt_tokens,
                    c.completion_tokens,
                    number(run.seconds_per_agent.get(name), 2),
                ]
                for name, c in s.tokens_per_agent.items()
            ],
        ),
        "<h3>Tokens, cost and time per model</h3>",
        table(
            ["model", "calls", "prompt tokens", "completion tokens", "cost", "model seconds"],
            [
                [
                    name,
                    c.calls,
                    c.prompt_tokens,
                    c.completion_tokens,
                    money(c.cost),
                    number(run.seconds_per_model.get(name), 2),
                ]
                for name, c in s.tokens_per_model.items()
            ],
        ),
        "<h3>Stop reasons</h3>",
        table(["stop reason", "debates"], sorted(s.stop_reasons.items())),
    ]
    parts += reasons_table(
        "Finished without an answer (scored as wrong)", s.no_answers, s.no_answer, "no-answers"
    )
    parts += reasons_table("Failures (rerun with --retry-failed)", s.failures, s.failed, "failures")
    parts.append("</section>")
    return "".join(parts)


def reasons_table(title: str, notes: Sequence[DebateNote], count: int, css_class: str) -> list[str]:
    """Debates of one outcome without an answer, each with its reason (the first ones, when there are many)."""
    if not notes:
        return []
    listed = f" (first {len(notes)} of {count})" if len(notes) < count else ""
    return [
        f"<h3>{escape(title)}{listed}</h3>",
        table(["debate", "reason"], [[note.debate_id, note.reason] for note in notes], css_class=css_class),
    ]


def table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], *, table_id: str = "", css_class: str = ""
) -> str:
    attributes = (f" id='{table_id}'" if table_id else "") + (f" class='{css_class}'" if css_class else "")
    head = "".join(f"<th>{escape(str(h))}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(cell))}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<table{attributes}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def at(values: Sequence[Any], index: int) -> Any:
    return values[index] if index < len(values) else None


def percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def number(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def money(value: float | None) -> str:
    return "–" if value is None else f"${value:.4f}"


# -- debates (client-side) --------------------------------------------------------------------


def debates_controls_html(runs: Sequence[RunReport]) -> str:
    options = "".join(
        f"<option value='{index}'>{escape(run.label)}</option>" for index, run in enumerate(runs)
    )
    hidden = " hidden" if len(runs) == 1 else ""
    filters = "".join(
        f"<button type='button' data-filter='{name}'>{name}</button>"
        for name in ("all", "correct", "incorrect", "no answer", "failed", "changed")
    )
    return (
        "<h1>Debates</h1><div class='controls'>"
        f"<label{hidden}>run <select id='run-select'>{options}</select></label>"
        f"<span id='filters'>{filters}</span>"
        "<input id='search' type='search' placeholder='search question text' autocomplete='off'>"
        "</div><p id='list-status'></p>"
        "<table id='debate-list'><thead><tr><th>#</th><th>question</th><th>final</th><th>gold</th>"
        "<th>result</th><th>changed</th><th>stop</th><th>rounds</th></tr></thead><tbody></tbody></table>"
        "<div class='pager'><button type='button' id='prev'>← previous</button>"
        "<span id='page-info'></span><button type='button' id='next'>next →</button></div>"
    )


STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
nav{position:sticky;top:0;background:#24292f;padding:8px 16px;display:flex;gap:16px;align-items:center;z-index:2}
nav a{color:#fff;text-decoration:none;font-weight:600}nav a.active{text-decoration:underline}
nav .title{color:#bbb;margin-left:auto;font-size:12px}
main{padding:8px 16px 32px}
table{border-collapse:collapse;margin:6px 0 14px;background:#fff}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f0f0f0}
.muted{color:#666}
.plots{display:flex;flex-wrap:wrap;gap:12px}figure{margin:0;background:#fff;border:1px solid #ddd;padding:4px}
figcaption{font-size:12px;color:#555}
.controls{display:flex;flex-wrap:wrap;gap:12px;align-items:center}
#filters button{margin-right:4px}#filters button.active{background:#24292f;color:#fff}
#search{min-width:260px;padding:3px 6px}
#debate-list tbody tr{cursor:pointer}#debate-list tbody tr:hover{background:#f3f7ff}
tr.correct td.result{color:#1a7f37}tr.incorrect td.result{color:#cf222e}tr.no-answer td.result{color:#8250df}
tr.failed td.result{color:#9a6700}
.pager{display:flex;gap:12px;align-items:center}
.question{white-space:pre-wrap;background:#fff;border:1px solid #ddd;padding:8px}
dl.outcome{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dl.outcome dt{font-weight:600}
table.grid{table-layout:fixed;width:100%}table.grid thead th:first-child{width:8em}
.msg{border:1px solid #ccc;border-radius:4px;padding:4px 6px;margin-bottom:6px;background:#fff}
.msg.flash{outline:3px solid #f0b400}
.msg .head{font-size:12px;color:#444;display:flex;flex-wrap:wrap;gap:8px}
.kind{font-weight:700;text-transform:uppercase;font-size:11px}
.text{white-space:pre-wrap;word-break:break-word;max-height:24em;overflow:auto;margin-top:4px}
button.ref{border:none;background:none;color:#0969da;cursor:pointer;padding:0;text-decoration:underline;font-size:12px}
.kind-critique{background:#fff8e6}.kind-verdict{background:#eef6ff}.kind-refinement{background:#f3fff3}
"""

SCRIPT = r"""
"use strict";
const DATA = JSON.parse(document.getElementById("data").textContent);
const state = {run: 0, filter: "all", query: "", page: 0};
const FILTERS = {
  all: () => true,
  correct: d => resultOf(d) === "correct",
  incorrect: d => resultOf(d) === "incorrect",
  "no answer": d => resultOf(d) === "no answer",
  failed: d => resultOf(d) === "failed",
  changed: d => d.ch === true,
};

function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (name === "className") node.className = value; else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.appendChild(typeof child === "string" || typeof child === "number"
      ? document.createTextNode(String(child)) : child);
  }
  return node;
}

function lowerQuestions(run) {
  if (!run.lower) run.lower = run.debates.map(d => d.q.toLowerCase());
  return run.lower;
}

function searched(run) {
  const query = state.query.trim().toLowerCase();
  if (!query) return run.debates;
  const lower = lowerQuestions(run);
  return run.debates.filter((d, index) => lower[index].includes(query));
}

function resultOf(d) {
  if (d.o === "failed") return "failed";
  if (d.o === "no_answer") return "no answer";
  if (d.ok === true) return "correct";
  if (d.ok === false) return "incorrect";
  return "no gold";
}

function renderList() {
  const run = DATA.runs[state.run];
  const candidates = searched(run);
  for (const button of document.querySelectorAll("#filters button")) {
    const name = button.dataset.filter;
    button.textContent = name + " (" + candidates.filter(FILTERS[name]).length + ")";
    button.classList.toggle("active", name === state.filter);
  }
  const shown = candidates.filter(FILTERS[state.filter]);
  const pages = Math.max(1, Math.ceil(shown.length / DATA.pageSize));
  state.page = Math.min(state.page, pages - 1);
  const start = state.page * DATA.pageSize;
  const rows = shown.slice(start, start + DATA.pageSize).map(d => {
    const row = el("tr", {className: resultOf(d).replace(" ", "-"), "data-index": d.i},
      el("td", null, d.i),
      el("td", null, el("a", {href: "#/debate/" + state.run + "/" + d.i},
        d.q.length > 160 ? d.q.slice(0, 160) + "…" : d.q)),
      el("td", null, d.f === undefined ? "–" : d.f),
      el("td", null, d.g === undefined ? "–" : d.g),
      el("td", {className: "result"}, resultOf(d)),
      el("td", null, d.ch ? "yes" : ""),
      el("td", null, d.s || ""),
      el("td", null, d.n));
    row.addEventListener("click", event => {
      if (event.target.tagName !== "A") location.hash = "#/debate/" + state.run + "/" + d.i;
    });
    return row;
  });
  document.querySelector("#debate-list tbody").replaceChildren(...rows);
  const status = document.getElementById("list-status");
  status.dataset.count = shown.length;
  status.textContent = shown.length
    ? "showing " + (start + 1) + "–" + (start + rows.length) + " of " + shown.length + " debates"
    : "no debates match";
  document.getElementById("page-info").textContent = "page " + (state.page + 1) + " of " + pages;
  document.getElementById("prev").disabled = state.page === 0;
  document.getElementById("next").disabled = state.page >= pages - 1;
}

function field(list, name, value) {
  list.appendChild(el("dt", null, name));
  list.appendChild(el("dd", null, value === undefined || value === null ? "–" : String(value)));
}

function describeMessage(messages, index) {
  const m = messages[index];
  return m.a + " · round " + m.r + " · " + m.k;
}

function flash(id) {
  const target = document.getElementById(id);
  if (!target) return;
  target.scrollIntoView({block: "center"});
  target.classList.add("flash");
  setTimeout(() => target.classList.remove("flash"), 1500);
}

function messageCard(messages, index) {
  const m = messages[index];
  const head = el("div", {className: "head"}, el("span", {className: "kind"}, m.k));
  if (m.ans !== undefined) head.appendChild(el("span", {className: "answer"}, "answer: " + m.ans));
  else if (m.k !== "critique" && m.k !== "question") head.appendChild(el("span", null, "answer: none"));
  if (m.p !== undefined) head.appendChild(el("span", {className: "confidence"}, "confidence: " + m.p.toFixed(2)));
  if (m.d !== undefined) head.appendChild(el("span", null, "decision: " + m.d));
  if (m.pe !== undefined) head.appendChild(el("span", {className: "parse-error"}, "unparsed: " + m.pe));
  const card = el("div", {className: "msg kind-" + m.k, id: "msg-" + index}, head);
  if (m.re) {
    const refs = el("div", {className: "head"}, "responds to: ");
    for (const target of m.re) {
      const link = el("button", {type: "button", className: "ref"}, describeMessage(messages, target));
      link.addEventListener("click", () => flash("msg-" + target));
      refs.appendChild(link);
    }
    card.appendChild(refs);
  }
  card.appendChild(el("div", {className: "text"}, m.t));
  return card;
}

function renderDebate(runIndex, index) {
  const view = document.getElementById("debate-view");
  const run = DATA.runs[runIndex];
  const d = run && run.debates[index];
  if (!d) { view.replaceChildren(el("p", null, "No such debate."), el("a", {href: "#/debates"}, "back")); return; }
  const verdict = [...d.m].reverse().find(m => m.k === "verdict");
  const outcome = el("dl", {className: "outcome"});
  field(outcome, "gold", d.g);
  field(outcome, "final answer", d.f);
  field(outcome, "result", resultOf(d));
  field(outcome, "stop reason", d.s);
  if (verdict) field(outcome, "judge verdict", (verdict.ans === undefined ? "none" : verdict.ans)
    + (verdict.p === undefined ? "" : " (confidence " + verdict.p.toFixed(2) + ")"));
  if (d.why !== undefined) field(outcome, d.o === "failed" ? "error" : "why no answer", d.why);
  field(outcome, "tokens", d.tok);
  field(outcome, "seconds", d.sec);
  const authors = [...new Set(d.m.map(m => m.a))];
  const rounds = Math.max(1, d.n || 0);
  const header = el("tr", null, el("th", null, "agent"));
  for (let r = 0; r < rounds; r++) header.appendChild(el("th", null, "round " + r));
  const body = authors.map(author => {
    const row = el("tr", {"data-author": author}, el("th", null, author));
    for (let r = 0; r < rounds; r++) {
      const cell = el("td");
      d.m.forEach((m, i) => { if (m.a === author && m.r === r) cell.appendChild(messageCard(d.m, i)); });
      row.appendChild(cell);
    }
    return row;
  });
  view.replaceChildren(
    el("p", null, el("a", {href: "#/debates"}, "← debates"), " · " + run.label + " · debate " + d.i),
    el("h1", null, d.id),
    el("div", {className: "question"}, d.q),
    outcome,
    el("table", {className: "grid", id: "grid"}, el("thead", null, header), el("tbody", null, ...body)));
}

function show(name) {
  for (const id of ["summary-view", "debates-view", "debate-view"]) document.getElementById(id).hidden = id !== name;
  document.getElementById("nav-summary").classList.toggle("active", name === "summary-view");
  document.getElementById("nav-debates").classList.toggle("active", name !== "summary-view");
}

function route() {
  const parts = (location.hash || "#/summary").slice(2).split("/");
  if (parts[0] === "debate") {
    show("debate-view");
    renderDebate(Number(parts[1]), Number(parts[2]));
    window.scrollTo(0, 0);
  } else if (parts[0] === "debates") {
    show("debates-view");
    renderList();
  } else {
    show("summary-view");
  }
}

document.getElementById("filters").addEventListener("click", event => {
  const name = event.target.dataset && event.target.dataset.filter;
  if (!name) return;
  state.filter = name; state.page = 0; renderList();
});
document.getElementById("search").addEventListener("input", event => {
  state.query = event.target.value; state.page = 0; renderList();
});
document.getElementById("run-select").addEventListener("change", event => {
  state.run = Number(event.target.value); state.page = 0; renderList();
});
document.getElementById("prev").addEventListener("click", () => { state.page--; renderList(); });
document.getElementById("next").addEventListener("click", () => { state.page++; renderList(); });
window.addEventListener("hashchange", route);
route();
"""
