"""Token log-probabilities and n > 1 samples, from the backend to ``Message`` and ``results.jsonl``.

Each backend has its own tests (test_backend_openai.py, test_backend_transformers.py,
test_backend_vllm.py); here are the summary every message gets, the wrappers
that must pass the new fields through, and ``debate run`` against a local
OpenAI-compatible server that returns ``logprobs``.
"""

from __future__ import annotations

import json
import math

import pytest
from debate.agents.backends import ChatMessage, ChatRequest, Completion, generate_one
from debate.agents.backends.balancing import LoadBalancedBackend
from debate.agents.backends.batching import BatchingBackend
from debate.agents.backends.concurrency import ConcurrencyLimitedBackend
from debate.agents.backends.faults import FaultInjectingBackend
from debate.agents.backends.retrying import RetryingBackend, RetryPolicy
from fake_openai_server import FakeOpenAIServer

from debate import (
    ChatResponse,
    Debater,
    DebateResult,
    Message,
    SamplingParams,
    Scenario,
    ScriptedBackend,
    TokenLogprob,
    run_debate,
)
from debate.cli import main
from debate.logprobs import answer_token_span, summarize_logprobs


def tokens(*pairs: tuple[str, float]) -> list[TokenLogprob]:
    return [TokenLogprob(token=token, logprob=logprob) for token, logprob in pairs]


def test_the_summary_has_the_mean_the_minimum_and_the_answer_tokens_probability():
    written = tokens(("The", -0.5), (" answer", -0.5), (" is", -0.2), (" 1", -0.1), ("8", -0.3), (".", -0.4))

    summary = summarize_logprobs(written, text="The answer is 18.", answer="18")

    assert summary.tokens == 6
    assert summary.mean_logprob == pytest.approx(-2.0 / 6)
    assert summary.min_logprob == -0.5
    assert summary.answer_logprob == pytest.approx(-0.4)  # " 1" and "8": the tokens that spell 18
    assert summary.answer_probability == pytest.approx(math.exp(-0.4))
    assert summary.perplexity == pytest.approx(math.exp(2.0 / 6))
    assert summary.mean_entropy is None and summary.token_logprobs is None


def test_the_answer_is_found_where_it_last_appears_and_only_where_the_tokens_spell_the_text():
    written = tokens(("4", -1.0), (" or", -0.1), (" 4", -0.2))
    assert answer_token_span(written, "4 or 4", "4") == range(2, 3)
    assert answer_token_span(written, "4 or 4", "5") is None
    assert (
        answer_token_span(tokens(("4", -1.0), ("or", -0.1), ("4", -0.2)), "4 or 4", "4") is None
    )  # spaces lost
    assert summarize_logprobs(written, text="4 or 4", answer=None).answer_logprob is None
    assert summarize_logprobs([], text="", answer=None) is None


def test_entropy_is_exact_where_the_backend_saw_it_and_a_lower_bound_from_the_alternatives_otherwise():
    exact = [
        TokenLogprob(token="a", logprob=-0.1, entropy=0.5),
        TokenLogprob(token="b", logprob=-0.1, entropy=1.5),
    ]
    half = math.log(0.5)
    bounded = [TokenLogprob(token="a", logprob=half, top_logprobs=[("a", half), ("b", half)])]

    assert summarize_logprobs(exact, text="ab", answer=None).mean_entropy == pytest.approx(1.0)
    assert summarize_logprobs(exact, text="ab", answer=None).entropy_exact
    summary = summarize_logprobs(bounded, text="a", answer=None, keep_tokens=True)
    assert summary.mean_entropy == pytest.approx(math.log(2)) and not summary.entropy_exact
    assert summary.token_logprobs == bounded


def test_top_logprobs_need_logprobs():
    with pytest.raises(ValueError, match="top_logprobs: 3 alternatives per token need logprobs=True"):
        SamplingParams(top_logprobs=3)
    assert "top_logprobs" not in SamplingParams().model_dump()  # scenario fingerprints stay what they were


async def test_every_wrapper_passes_logprobs_and_samples_through():
    scripted = ScriptedBackend(lambda request: "#### 7", token_logprob=lambda token: -0.25)
    stack = RetryingBackend(
        FaultInjectingBackend(
            ConcurrencyLimitedBackend(LoadBalancedBackend([BatchingBackend(scripted)]), 2), rate=0.5, seed=1
        ),
        RetryPolicy(max_attempts=20, initial_wait_s=0, max_wait_s=0),
    )
    request = ChatRequest(
        messages=[ChatMessage(role="user", content="?")], sampling=SamplingParams(n=2, logprobs=True)
    )

    responses = [await generate_one(stack, request) for _ in range(4)]

    assert stack.inner.injected > 0  # some went round the retry loop
    for response in responses:
        assert [sample.text for sample in response.samples] == ["#### 7", "#### 7"]
        assert [token.logprob for token in response.logprobs] == [-0.25, -0.25]
        assert response.samples[1].logprobs == response.logprobs


def test_samples_are_parsed_and_peers_see_only_the_first():
    answers = iter(["#### 3", "#### 4", "#### 3"] * 2)
    sampling = SamplingParams(n=3)
    scenario = Scenario(
        name="samples",
        agents=[Debater("a", sampling=sampling), Debater("b")],
        protocol="simultaneous",
        rounds=2,
        stop="fixed",
    )
    backend = ScriptedBackend(lambda request: next(answers) if request.agent == "a" else "#### 3")

    result = run_debate(scenario, "What is 1 + 2?", backend=backend)

    first = result.transcript.by_author("a")[0]
    assert [sample.answer for sample in first.samples] == ["3", "4", "3"]
    assert first.answer == "3" and first.sample_agreement == pytest.approx(2 / 3)
    b_round_1 = next(call for call in backend.calls if call.agent == "b" and call.round == 1)
    assert "#### 4" not in b_round_1.messages[-1].content  # the other samples stay private
    assert result.transcript.by_author("b")[0].samples == []


def test_results_written_before_logprobs_existed_still_load():
    result = run_debate(
        Scenario(name="old", agents=[Debater("a")], rounds=1, stop="fixed"),
        "1 + 1?",
        backend="scripted:#### 2",
    )
    row = json.loads(result.to_json_line())
    for message in row["transcript"]["messages"]:
        del message["logprobs"], message["samples"]

    loaded = DebateResult.model_validate(row)

    assert loaded.transcript.messages[0].logprobs is None and loaded.transcript.messages[0].samples == []


@pytest.mark.timeout(60)
@pytest.mark.parametrize("transport", ["lean", "openai"])
def test_logprobs_and_samples_reach_messages_and_results_through_debate_run(tmp_path, capsys, transport):
    scenario_file = tmp_path / "logprob_scenario.py"
    scenario_file.write_text(
        "from debate import Debater, SamplingParams, Scenario\n"
        "sampling = SamplingParams(temperature=1.0, n=2, logprobs=True, top_logprobs=2)\n"
        "scenario = Scenario(name='logprobs', agents=[Debater('a', sampling=sampling), Debater('b')],\n"
        "                    protocol='simultaneous', rounds=1, stop='fixed', answer='number')\n"
    )

    with FakeOpenAIServer(lambda messages: ["I get 18.\n#### 18", "I get 17.\n#### 17"]) as server:
        uri = f"openai://{server.address}?model=fake-model&transport={transport}"
        argv = ["run", str(scenario_file), "--data", "gsm8k", "--limit", "2", "--out", str(tmp_path / "run")]
        assert main([*argv, "--backend", uri, "--progress", "off"]) == 0
    capsys.readouterr()

    assert {body.get("n", 1) for body in server.chat_bodies} == {1, 2}
    lines = (tmp_path / "run" / "results.jsonl").read_text().splitlines()
    for line in lines:
        raw_a, raw_b = json.loads(line)["transcript"]["messages"]
        assert raw_a["logprobs"]["answer_logprob"] == pytest.approx(math.log(0.9))  # " 18": a sure digit
        assert [sample["answer"] for sample in raw_a["samples"]] == ["18", "17"]
        assert raw_a["samples"][1]["logprobs"]["answer_logprob"] == pytest.approx(math.log(0.9))
        assert raw_b["logprobs"] is None and raw_b["samples"] == []  # b asked for neither
        a = Message.model_validate(raw_a)
        assert a.logprobs.tokens == len(["I", "get", "18.", "####", "18"])
        assert a.logprobs.mean_entropy is not None and not a.logprobs.entropy_exact  # from two alternatives
        assert a.logprobs.token_logprobs[0].top_logprobs[0][0] == "I"


def test_a_response_is_made_of_at_least_one_completion():
    with pytest.raises(ValueError, match="completions: a response needs at least one completion"):
        ChatResponse.of_completions([])
    single = ChatResponse.of_completions([Completion(text="x")])
    assert single.samples == [] and single.completions() == [Completion(text="x")]
