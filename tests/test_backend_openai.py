"""OpenAIBackend against a real HTTP server on 127.0.0.1 that can be told to misbehave.

The server (tests/fake_openai_server.py) counts what it sees on its side:
requests, faults, requests in flight, usage. So every claim below (retries,
Retry-After, fail-over, the concurrency cap, usage sums) is checked against an
independent record, not against the client's own bookkeeping.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import secrets
import time
import traceback
from itertools import islice

import pytest
from debate.agents.backends import BackendError, ChatMessage, ChatRequest, resolve_backend
from debate.agents.backends import openai as openai_backend
from debate.agents.backends.openai import (
    OpenAIBackend,
    RequestRejectedError,
    parse_openai_uri,
    retry_after_seconds,
)
from debate.agents.backends.retrying import RetryPolicy, TransientBackendError
from fake_openai_server import FakeOpenAIServer, Fault

from debate import SamplingParams, Usage, arun_debate, compile_debate, run_debate, save_results
from debate.datasets import load_gsm8k
from debate.loading import load_scenario

pytestmark = pytest.mark.timeout(60)

FAST_RETRY = RetryPolicy(max_attempts=8, initial_wait_s=0.001, max_wait_s=0.02)
"""Real backoff waits, made short so the file runs in seconds."""

ITEMS = list(islice(load_gsm8k(split="test"), 8))


def ask(text: str = "What is 6 * 7?", **sampling: object) -> ChatRequest:
    return ChatRequest(
        messages=[ChatMessage(role="system", content="Be brief."), ChatMessage(role="user", content=text)],
        sampling=SamplingParams(**sampling),  # type: ignore[arg-type]
    )


def solve_gsm8k(messages: list[dict]) -> str:
    """A model that knows the GSM8K answers: it finds the question in the prompt and answers its gold."""
    prompt = messages[-1]["content"]
    gold = next(item.gold for item in ITEMS if item.question in prompt)
    return f"Working through the problem step by step gives {gold}.\n#### {gold}"


@pytest.fixture(autouse=True, params=["openai", "lean"])
def transport(request, monkeypatch):
    """Every test runs on both transports: they must send the same requests and fail the same way."""
    monkeypatch.setattr(openai_backend, "DEFAULT_TRANSPORT", request.param)
    return request.param


@pytest.fixture
def server():
    with FakeOpenAIServer() as server:
        yield server


# -- one request, end to end -----------------------------------------------------------


async def test_sampling_parameters_reach_the_server_and_usage_comes_back(server):
    backend = OpenAIBackend(server.base_url, model="fake-model")
    sampling = {
        "temperature": 0.3,
        "top_p": 0.9,
        "max_tokens": 77,
        "seed": 7,
        "stop": ("####",),
        "n": 2,
        "logprobs": True,
    }

    [response] = await backend.generate([ask("How many legs has a spider?", **sampling)])

    body = server.chat_bodies[-1]
    assert body["model"] == "fake-model"
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "How many legs has a spider?"},
    ]
    assert {name: body[name] for name in sampling} == {**sampling, "stop": ["####"]}
    assert response.text == "You said: How many legs has a spider?"
    assert response.model == "fake-model"
    assert response.usage == Usage(
        prompt_tokens=server.prompt_tokens, completion_tokens=server.completion_tokens
    )
    assert response.usage.completion_tokens == 2 * len(response.text.split())  # n=2 choices, both counted
    assert response.latency_s > 0
    await backend.aclose()


async def test_default_sampling_sends_no_optional_fields_and_the_model_is_discovered(server):
    backend = OpenAIBackend(server.base_url)  # no model: the server's only model is used

    await backend.generate([ask()])

    body = server.chat_bodies[-1]
    assert body["model"] == server.model
    assert not {"n", "seed", "stop", "logprobs"} & set(body)
    request = ask().model_copy(update={"model": "agent-chosen-model"})
    await backend.generate([request])
    assert server.chat_bodies[-1]["model"] == "agent-chosen-model"  # an agent's model wins
    await backend.aclose()


async def test_token_logprobs_come_back_in_our_format(server):
    backend = OpenAIBackend(server.base_url, model="fake-model")

    [plain, alternatives] = await backend.generate(
        [ask("Hi", logprobs=True), ask("Hi", logprobs=True, top_logprobs=2)]
    )

    assert sorted(body.get("top_logprobs", 0) for body in server.chat_bodies) == [0, 2]
    assert [token.token for token in plain.logprobs] == ["You", " said:", " Hi"]  # the fake server's words
    assert [token.logprob for token in plain.logprobs] == [pytest.approx(math.log(0.5))] * 3
    assert plain.logprobs[0].top_logprobs == []
    assert alternatives.logprobs[0].top_logprobs == [
        ("You", pytest.approx(math.log(0.5))),
        ("<alt1>", pytest.approx(math.log(0.25))),
    ]
    [without] = await backend.generate([ask("Hi")])
    assert without.logprobs is None and "logprobs" not in server.chat_bodies[-1]
    await backend.aclose()


async def test_n_choices_all_come_back_as_samples(transport):
    with FakeOpenAIServer(lambda messages: ["#### 4", "#### 5", "#### 4"]) as server:
        backend = OpenAIBackend(server.base_url, model="fake-model")

        [three] = await backend.generate([ask(n=3, logprobs=True)])
        [one] = await backend.generate([ask()])
        await backend.aclose()

    assert [sample.text for sample in three.samples] == ["#### 4", "#### 5", "#### 4"]
    assert three.text == "#### 4" and three.logprobs == three.samples[0].logprobs
    assert [token.logprob for token in three.samples[1].logprobs] == pytest.approx(
        [math.log(0.5), math.log(0.9)]
    )
    assert three.usage.completion_tokens == 6
    assert one.samples == [] and one.completions()[0].text == "#### 4"


async def test_max_completion_tokens_is_sent_where_the_server_wants_it(transport):
    with FakeOpenAIServer(require_max_completion_tokens=True) as server:
        backend = OpenAIBackend(server.base_url, model="o-series", retry=None)

        [first] = await backend.generate([ask(max_tokens=33)])  # refused with max_tokens, sent again
        await backend.generate([ask(max_tokens=34)])
        await backend.aclose()

    assert first.text.startswith("You said:")
    assert ["max_tokens" in body for body in server.chat_bodies] == [True, False, False]
    assert [body.get("max_completion_tokens") for body in server.chat_bodies] == [None, 33, 34]
    assert OpenAIBackend("https://api.openai.com/v1").endpoints[0].max_tokens_field == "max_completion_tokens"
    assert OpenAIBackend("http://localhost:8000/v1").endpoints[0].max_tokens_field == "max_tokens"
    chosen = resolve_backend("openai://h1:8000/v1?max_tokens_field=max_completion_tokens")
    assert chosen.endpoints[0].max_tokens_field == "max_completion_tokens"  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="max_tokens_field 'tokens' is not one of"):
        resolve_backend("openai://h1:8000/v1?max_tokens_field=tokens")


async def test_usage_is_summed_over_many_concurrent_requests(server):
    backend = OpenAIBackend(server.base_url, model="fake-model")
    requests = [ask(" ".join(["word"] * (i + 1))) for i in range(40)]

    responses = await backend.generate(requests)

    assert [r.text for r in responses] == [
        f"You said: {r.messages[-1].content}" for r in requests
    ]  # in order
    total = sum((r.usage for r in responses), Usage())
    assert total == Usage(prompt_tokens=server.prompt_tokens, completion_tokens=server.completion_tokens)
    assert total.prompt_tokens == sum(2 + i + 1 for i in range(40))  # "Be brief." + i+1 words
    await backend.aclose()


# -- retries -----------------------------------------------------------------------------


async def test_every_kind_of_transient_failure_is_retried_and_counted(server):
    backend = OpenAIBackend(server.base_url, model="fake-model", timeout_s=0.3, retry=FAST_RETRY)
    faults = [
        Fault.rate_limited(),
        Fault.server_error(),
        Fault.status_code(503),
        Fault.drop(),
        Fault.malformed(),
        Fault.slow(1.0),
    ]
    server.fail_next(*faults)

    [response] = await backend.generate([ask("still there?")])

    assert response.text == "You said: still there?"
    assert backend.retries == len(faults) == server.faults_served
    assert len(server.chat_bodies) == len(faults) + 1
    await backend.aclose()


async def test_retry_after_is_honoured(server):
    backend = OpenAIBackend(server.base_url, model="fake-model", retry=FAST_RETRY)  # backoff alone: <= 20 ms
    server.fail_next(Fault.rate_limited(retry_after="0.6"))

    started = time.perf_counter()
    await backend.generate([ask()])

    assert time.perf_counter() - started >= 0.6
    assert backend.retries == 1
    await backend.aclose()


def test_retry_after_headers_are_read_in_all_their_forms():
    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    in_a_minute = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60))
    assert 55 <= retry_after_seconds({"retry-after": in_a_minute}) <= 60  # type: ignore[operator]
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


@pytest.mark.parametrize("status", [400, 401, 404])
async def test_client_errors_fail_at_once_with_the_status(server, status):
    backend = OpenAIBackend(server.base_url, model="fake-model", retry=FAST_RETRY)
    server.fail_next(Fault.status_code(status))

    with pytest.raises(RequestRejectedError) as caught:
        await backend.generate([ask()])

    assert caught.value.status == status
    assert isinstance(caught.value, BackendError) and not isinstance(caught.value, TransientBackendError)
    assert f"HTTP {status}" in str(caught.value) and "injected" in str(
        caught.value
    )  # the server's own message
    assert len(server.chat_bodies) == 1 and backend.retries == 0
    await backend.aclose()


async def test_gives_up_after_the_last_attempt(server):
    backend = OpenAIBackend(
        server.base_url, model="fake-model", retry=FAST_RETRY.model_copy(update={"max_attempts": 3})
    )
    server.fail_next(*[Fault.server_error()] * 5)

    with pytest.raises(BackendError, match="gave up after 3 attempts.*HTTP 500") as caught:
        await backend.generate([ask()])

    assert not isinstance(caught.value, TransientBackendError)  # an outer retry layer must not start over
    assert len(server.chat_bodies) == 3
    await backend.aclose()


# -- concurrency and load balancing --------------------------------------------------------


async def test_concurrency_cap_holds_on_the_server_side():
    with FakeOpenAIServer(delay_s=0.05) as server:
        backend = OpenAIBackend(server.base_url, model="fake-model", max_concurrency=3)
        await backend.generate([ask(f"question {i}") for i in range(15)])
        await backend.aclose()
    assert server.max_in_flight == 3  # never more, and the cap is actually used
    assert server.completions == 15


async def test_requests_beyond_the_cap_wait_in_line_without_timing_out():
    # 6 requests one at a time take 0.6 s; each one's own call takes 0.1 s, well within its 0.4 s timeout
    with FakeOpenAIServer(delay_s=0.1) as server:
        backend = OpenAIBackend(
            server.base_url, model="fake-model", max_concurrency=1, timeout_s=0.4, retry=None
        )
        await backend.generate([ask(f"question {i}") for i in range(6)])
        await backend.aclose()
    assert server.completions == 6 and server.max_in_flight == 1


async def test_requests_go_to_the_endpoint_with_fewest_in_flight():
    with FakeOpenAIServer(delay_s=0.05) as first, FakeOpenAIServer(delay_s=0.05) as second:
        backend = OpenAIBackend([first.base_url, second.base_url], model="fake-model")
        await backend.generate([ask(f"question {i}") for i in range(20)])
        await backend.aclose()
    assert (first.completions, second.completions) == (10, 10)


async def test_fail_over_when_an_endpoint_is_down():
    with FakeOpenAIServer() as alive, FakeOpenAIServer() as dead:
        dead.stop()  # its port now refuses connections
        backend = OpenAIBackend([dead.base_url, alive.base_url], model="fake-model", retry=FAST_RETRY)

        first_batch = await backend.generate([ask(f"question {i}") for i in range(10)])
        fail_overs = backend.balancer.fail_overs  # type: ignore[union-attr]
        second_batch = await backend.generate([ask(f"question {i}") for i in range(10)])
        await backend.aclose()

    assert len(first_batch + second_batch) == alive.completions == 20
    assert backend.retries == 0  # fail-over is immediate: no retry budget spent, no backoff
    assert fail_overs >= 1
    assert backend.balancer.fail_overs == fail_overs  # type: ignore[union-attr]  # the dead endpoint is now skipped


# -- a real debate on an unreliable server -----------------------------------------------------


async def test_debates_finish_with_the_right_answers_despite_30_percent_faults():
    scenario = load_scenario("gsm8k_simultaneous")  # 3 debaters x 3 rounds: 9 model calls per debate
    faults = (Fault.rate_limited("0"), Fault.server_error(), Fault.slow(3.0), Fault.drop(), Fault.malformed())
    with FakeOpenAIServer(solve_gsm8k, fault_rate=0.3, random_faults=faults, seed=1234) as server:
        backend = OpenAIBackend(server.base_url, model="fake-model", timeout_s=1.0, retry=FAST_RETRY)
        graph = compile_debate(scenario, backend)
        results = await asyncio.gather(
            *(
                arun_debate(scenario, item.question, context=item.context, gold=item.gold, graph=graph)
                for item in ITEMS
            )
        )
        await backend.aclose()

    assert [result.final_answer for result in results] == [item.gold for item in ITEMS]
    assert server.completions == 9 * len(ITEMS)
    assert server.faults_served >= 0.2 * len(server.chat_bodies)  # the faults really happened...
    assert backend.retries == server.faults_served  # ...and each cost exactly one retry
    assert set(server.faults) == {fault.label for fault in faults}
    total = sum((result.transcript.usage for result in results), Usage())
    assert total == Usage(prompt_tokens=server.prompt_tokens, completion_tokens=server.completion_tokens)


def test_api_key_is_sent_to_the_server_and_nowhere_else(monkeypatch, caplog, capfd, tmp_path):
    key = f"sk-test-{secrets.token_hex(16)}"
    monkeypatch.setenv("DEBATE_TEST_API_KEY", key)
    caplog.set_level(logging.DEBUG)
    scenario = load_scenario("gsm8k_rcr")
    with FakeOpenAIServer(solve_gsm8k, api_key=key) as server:
        backend = resolve_backend(f"openai://{server.address}?model=fake-model&key_env=DEBATE_TEST_API_KEY")
        # run_debate runs its own event loop each time: the backend must survive the switch
        results = [run_debate(scenario, item.question, backend=backend, gold=item.gold) for item in ITEMS[:2]]
        save_results(tmp_path / "results.jsonl", results)
    with FakeOpenAIServer(api_key="another-key") as echoing_server:  # its 401 body quotes the header it got
        rejected = OpenAIBackend(echoing_server.base_url, model="m", key_env="DEBATE_TEST_API_KEY")
        with pytest.raises(RequestRejectedError, match="key_env") as caught:
            asyncio.run(rejected.generate([ask()]))

    assert [result.final_answer for result in results] == [item.gold for item in ITEMS[:2]]
    assert {headers["authorization"] for headers in server.chat_headers} == {f"Bearer {key}"}
    assert key in echoing_server.chat_headers[0]["authorization"]  # the echo really carried the key
    out, err = capfd.readouterr()
    places = {
        "saved results": (tmp_path / "results.jsonl").read_text(),
        "logs": caplog.text,
        "stdout": out,
        "stderr": err,
        "repr": repr(backend),
        "str": str(backend),
        "attributes": repr([vars(backend), *(vars(endpoint) for endpoint in backend.endpoints)]),
        "error": "".join(traceback.format_exception(caught.value)),
    }
    assert caplog.records  # logging was on, so the check below means something
    assert [place for place, content in places.items() if key in content] == []


# -- connections -------------------------------------------------------------------------------


async def test_a_full_pool_of_connections_is_used_at_once_without_waiting():
    # the openai transport spreads 100 connections over several small pools; none may sit idle while others queue
    with FakeOpenAIServer(delay_s=0.1) as server:
        backend = OpenAIBackend(server.base_url, model="fake-model", max_concurrency=100, retry=None)
        started = time.perf_counter()
        await backend.generate([ask(f"question {i}") for i in range(200)])
        elapsed = time.perf_counter() - started
        await backend.aclose()
    assert server.max_in_flight == 100 and server.completions == 200
    assert elapsed < 2.0  # two waves of 0.1 s, with room for a slow machine; serialised it would take 20 s


async def test_without_max_concurrency_every_request_reaches_the_server_at_once():
    # no client-side cap by default: a batching server sees all that the run sends (hosted APIs answer 429)
    # (each answer takes 2 s, ample time for all 200 to be sent and counted before the first returns)
    with FakeOpenAIServer(delay_s=2.0) as server:
        backend = OpenAIBackend(server.base_url, model="fake-model", retry=None)
        await backend.generate([ask(f"question {i}") for i in range(200)])
        await backend.aclose()
    assert server.max_in_flight == 200 and server.completions == 200


async def test_connections_the_server_closed_while_idle_are_not_reused():
    with FakeOpenAIServer(idle_timeout_s=0.2) as server:
        backend = OpenAIBackend(server.base_url, model="fake-model", retry=None)  # any error would surface
        await backend.generate([ask(f"question {i}") for i in range(4)])
        await asyncio.sleep(0.5)  # the server hangs up on the idle keep-alive connections

        [response] = await backend.generate([ask("are you still there?")])
        await backend.aclose()
    assert response.text == "You said: are you still there?"


async def test_chunked_answers_and_connection_close_are_understood():
    """Servers behind proxies may stream the JSON in chunks and close the connection after each answer."""
    completion = {
        "model": "chunky",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "in two pieces"}}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 3},
    }
    body = json.dumps(completion).encode()
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:17], body[17:])) + b"0\r\n\r\n"
    connections = 0

    async def answer_and_hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
        await reader.readexactly(length)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer_and_hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    backend = OpenAIBackend(f"http://127.0.0.1:{port}/v1", model="m", retry=None)

    responses = [await backend.generate([ask()]) for _ in range(2)]
    await backend.aclose()
    server.close()

    assert [response.text for [response] in responses] == ["in two pieces"] * 2
    assert responses[0][0].model == "chunky" and responses[0][0].usage == Usage(
        prompt_tokens=5, completion_tokens=3
    )
    assert connections == 2  # "Connection: close" was honoured: a new connection for the second request


async def test_a_request_past_its_timeout_fails_alone_among_many_in_flight():
    # The first request gets a slow answer and times out at 1.0 s; 8 more, sent at 0.7 s and answered after
    # 0.5 s each, are in flight when it does, with later deadlines: only the slow one may fail.
    with FakeOpenAIServer(delay_s=0.5) as server:
        backend = OpenAIBackend(server.base_url, model="fake-model", timeout_s=1.0, retry=None)
        server.fail_next(Fault.slow(3.0))
        slow = asyncio.ensure_future(backend.generate([ask("slow")]))
        await asyncio.sleep(0.7)
        others = await asyncio.gather(
            *(backend.generate([ask(f"question {i}")]) for i in range(8)), slow, return_exceptions=True
        )
        await backend.aclose()

    *answers, failure = others
    assert [batch[0].text for batch in answers] == [f"You said: question {i}" for i in range(8)]
    assert isinstance(failure, TransientBackendError) and failure.kind == "timeout"
    assert "no answer within 1.0s" in str(failure) and failure.__cause__ is None


async def test_cancelling_a_request_is_a_cancellation_not_a_timeout():
    with FakeOpenAIServer(delay_s=2.0) as server:
        backend = OpenAIBackend(server.base_url, model="fake-model", timeout_s=0.3, retry=None)
        task = asyncio.ensure_future(backend.generate([ask()]))
        await asyncio.sleep(0.1)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert task.cancelled()
        await asyncio.sleep(0.4)  # past the cancelled request's deadline: nothing fires at anyone
        await backend.aclose()


def test_request_bodies_read_the_same_whichever_encoder_writes_them():
    text = 'Ünïcødé ✓, quotes " and \\ backslashes, \n new lines, \u2028 and emoji 🙂'
    body = {"model": "m", "messages": [{"role": "user", "content": text}], "temperature": 0.7, "seed": 7}
    assert json.loads(openai_backend.request_json(body)) == json.loads(json.dumps(body)) == body
    # what a fast encoder would write differently or refuse goes to json: the same bytes as before
    for odd in ({"temperature": math.inf}, {"seed": 2**70}, {"content": "\ud800 lone surrogate"}):
        assert openai_backend.request_json(odd) == json.dumps(odd).encode()


def test_completions_that_only_json_reads_are_still_read():
    endpoint = openai_backend.OpenAIEndpoint("http://127.0.0.1:9/v1", model="m")
    assert endpoint._json(b'{"logprob": -Infinity, "n": 123456789012345678901234567890}') == {
        "logprob": -math.inf,
        "n": 123456789012345678901234567890,
    }
    assert endpoint._json('{"text": "as str"}') == {"text": "as str"}
    with pytest.raises(TransientBackendError, match="malformed response") as raised:
        endpoint._json(b"{not json")
    assert raised.value.kind == "malformed"


# -- URIs ----------------------------------------------------------------------------------


def test_the_transport_is_chosen_per_backend_or_in_the_uri(transport):
    assert OpenAIBackend("http://h1:8000/v1").transport == transport  # the default (switched by the fixture)
    lean = OpenAIBackend("http://h1:8000/v1", transport="lean")
    assert [endpoint.transport for endpoint in lean.endpoints] == ["lean"]
    assert "transport='lean'" in repr(lean)
    assert resolve_backend("openai://h1:8000/v1?model=M&transport=lean").transport == "lean"  # type: ignore[attr-defined]
    with pytest.raises(
        ValueError, match="transport='fast': transport 'fast' is not one of \\['openai', 'lean'\\]"
    ):
        resolve_backend("openai://h1:8000/v1?transport=fast")


def test_uri_grammar():
    assert parse_openai_uri("openai://localhost:8000/v1?model=Qwen/Qwen2.5-7B-Instruct") == {
        "base_url": ["http://localhost:8000/v1"],
        "model": "Qwen/Qwen2.5-7B-Instruct",
    }
    assert parse_openai_uri("openai+https://api.openai.com/v1?model=gpt-4o-mini&key_env=OPENAI_API_KEY") == {
        "base_url": ["https://api.openai.com/v1"],
        "model": "gpt-4o-mini",
        "key_env": "OPENAI_API_KEY",
    }
    parsed = parse_openai_uri(
        "openai://h1:8000/v1,h2:8001?model=M&max_concurrency=32&timeout_s=60&max_attempts=3"
    )
    assert parsed["base_url"] == ["http://h1:8000/v1", "http://h2:8001/v1"]  # the path defaults to /v1
    assert (parsed["max_concurrency"], parsed["timeout_s"], parsed["retry"].max_attempts) == (32, 60.0, 3)

    backend = resolve_backend("openai://h1:8000/v1,h2:8000/v1?model=M&max_concurrency=4")
    assert isinstance(backend, OpenAIBackend)
    assert [endpoint.base_url for endpoint in backend.endpoints] == ["http://h1:8000/v1", "http://h2:8000/v1"]
    assert backend.name == "openai:http://h1:8000/v1,http://h2:8000/v1"


@pytest.mark.parametrize(
    ("uri", "complaint"),
    [
        ("openai:localhost:8000/v1", "expected openai://HOST"),
        ("openai://h1:99999/v1", "endpoint 'h1:99999/v1' has an invalid port"),
        ("openai://h1:8000/v1,,h2:8000/v1", "empty endpoint"),
        ("openai://h1/v1?modle=M", "unknown parameter 'modle'; valid parameters: .*'model'"),
        ("openai://h1/v1?max_concurrency=0", "max_concurrency='0': expected a whole number >= 1"),
        ("openai://h1/v1?timeout_s=soon", "timeout_s='soon': expected a number > 0"),
        ("openai://h1/v1?model=a&model=b", "'model' is given twice"),
        ("openai://user:secret@h1/v1", "credentials .* key_env"),
        (
            "openai://h1/v1?key_env=NO_SUCH_VARIABLE_FOR_DEBATE_TESTS",
            "key_env: environment variable 'NO_SUCH",
        ),
    ],
)
def test_bad_uris_name_the_bad_part(uri, complaint):
    with pytest.raises(ValueError, match=complaint):
        resolve_backend(uri)


def test_a_key_written_into_a_uri_is_refused_without_being_repeated():
    with pytest.raises(ValueError, match="never put an API key in a URI") as caught:
        resolve_backend("openai://h1/v1?model=M&api_key=sk-live-123")
    assert "sk-live-123" not in str(caught.value)
