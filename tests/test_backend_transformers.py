"""TransformersBackend: a local HF model as a debate backend (tiny random model, CPU, no hub)."""

import asyncio
import threading

import pytest
from debate.agents.backends import BackendError, ChatMessage, ChatRequest, resolve_backend
from debate.agents.backends.batching import BatchingBackend
from debate.agents.backends.transformers import TransformersBackend, parse_hf_uri

from debate import Debater, SamplingParams, Scenario, run_debate

GREEDY = SamplingParams(temperature=0.0, max_tokens=12)


@pytest.fixture(scope="module")
def backend(tiny_model_dir):
    return TransformersBackend(tiny_model_dir, device="cpu", max_batch_size=8)


def ask(question: str, sampling: SamplingParams = GREEDY, agent: str = "a") -> ChatRequest:
    return ChatRequest(
        messages=[
            ChatMessage(role="system", content="Answer briefly."),
            ChatMessage(role="user", content=question),
        ],
        sampling=sampling,
        agent=agent,
    )


def chat_token_ids(backend: TransformersBackend, request: ChatRequest) -> list[int]:
    chat = [message.model_dump() for message in request.messages]
    return backend.tokenizer.apply_chat_template(
        chat, add_generation_prompt=True, tokenize=True, return_dict=True
    )["input_ids"]


class GenerateSpy:
    """Wraps ``model.generate`` to record each call's batch size and thread; the real generate still runs."""

    def __init__(self, backend: TransformersBackend, monkeypatch: pytest.MonkeyPatch) -> None:
        self.batch_sizes: list[int] = []
        self.widths: list[int] = []
        self.threads: list[int] = []
        real = backend.model.generate

        def spy(**kwargs):
            self.batch_sizes.append(kwargs["input_ids"].shape[0])
            self.widths.append(kwargs["input_ids"].shape[1])
            self.threads.append(threading.get_ident())
            return real(**kwargs)

        monkeypatch.setattr(backend.model, "generate", spy)


async def test_text_and_token_counts_match_what_transformers_generates_for_each_prompt_alone(backend):
    questions = ["Hi?", "How many eggs does a duck lay in a week if it lays two a day?", "What is 3 + 4?"]
    requests = [ask(question) for question in questions]

    responses = await backend.generate(requests)  # one left-padded batch

    for request, response in zip(requests, responses, strict=True):
        prompt_ids = chat_token_ids(backend, request)
        alone = backend.model.generate(
            input_ids=backend.tokenizer(
                [backend.tokenizer.decode(prompt_ids)], add_special_tokens=False, return_tensors="pt"
            )["input_ids"],
            max_new_tokens=GREEDY.max_tokens,
            do_sample=False,
        )[0, len(prompt_ids) :].tolist()
        ends = [i + 1 for i, token in enumerate(alone) if token in backend.eos_token_ids]
        generated = alone[: ends[0]] if ends else alone
        assert response.usage.prompt_tokens == len(prompt_ids)  # padding not counted
        assert response.usage.completion_tokens == len(generated)
        assert response.text == backend.tokenizer.decode(generated, skip_special_tokens=True)
        assert response.model == backend.model_path and response.latency_s > 0


async def test_requests_with_the_same_sampling_share_one_generate_call(backend, monkeypatch):
    spy = GenerateSpy(backend, monkeypatch)
    warm = SamplingParams(temperature=0.9, max_tokens=4)
    requests = [
        ask("a?"),
        ask("b?", warm),
        ask("c?"),
        ask("d?", warm.model_copy(update={"seed": 3})),
        ask("e?"),
    ]

    responses = await backend.generate(requests)

    assert len(responses) == 5
    assert sorted(spy.batch_sizes) == [2, 3]  # greedy ones together; sampled ones together, seeds per row


async def test_batches_never_exceed_max_batch_size(tiny_model_dir, monkeypatch):
    small = TransformersBackend(tiny_model_dir, device="cpu", max_batch_size=2)
    spy = GenerateSpy(small, monkeypatch)

    await small.generate([ask(f"question {i}?") for i in range(5)])

    assert spy.batch_sizes == [2, 2, 1]


async def test_prompts_of_similar_length_share_a_batch_and_answers_keep_request_order(
    tiny_model_dir, monkeypatch
):
    small = TransformersBackend(tiny_model_dir, device="cpu", max_batch_size=2)
    spy = GenerateSpy(small, monkeypatch)
    long_question = "Explain, step by step and with care, " * 8 + "what 2 + 2 is?"
    requests = [ask(long_question), ask("2 + 2?"), ask(long_question + " Please."), ask("3 + 3?")]

    responses = await small.generate(requests)

    widths = [len(chat_token_ids(small, request)) for request in requests]
    assert spy.widths == [max(widths[1], widths[3]), max(widths[0], widths[2])]  # short pair, then long pair
    alone = [(await small.generate([request]))[0].text for request in requests]
    assert [response.text for response in responses] == alone


async def test_a_seed_fixes_the_sample_whatever_shares_its_batch(backend):
    seeded = SamplingParams(temperature=1.0, top_p=0.95, max_tokens=16, seed=7)
    question = "What is 12 * 7?"

    [alone] = await backend.generate([ask(question, seeded)])
    batched = await backend.generate([ask("Something else entirely?", seeded), ask(question, seeded)])
    [other_seed] = await backend.generate([ask(question, seeded.model_copy(update={"seed": 8}))])

    assert batched[1].text == alone.text
    assert other_seed.text != alone.text


async def test_a_stop_string_ends_the_text_before_it(backend):
    seeded = SamplingParams(temperature=1.0, max_tokens=24, seed=3)
    [free] = await backend.generate([ask("Count to ten.", seeded)])
    stop = free.text[len(free.text) // 2 :][:2]
    assert stop.strip(), "the tiny model produced no text to stop on"

    [stopped] = await backend.generate([ask("Count to ten.", seeded.model_copy(update={"stop": (stop,)}))])

    assert stopped.text == free.text[: free.text.index(stop)]
    assert stopped.usage.completion_tokens < free.usage.completion_tokens


async def test_generation_runs_in_a_worker_thread_while_the_event_loop_stays_free(backend, monkeypatch):
    spy = GenerateSpy(backend, monkeypatch)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.create_task(tick())
    await backend.generate([ask("Tell me a story.", SamplingParams(temperature=0.0, max_tokens=64))])
    ticker.cancel()

    assert spy.threads and spy.threads[0] != threading.get_ident()
    assert ticks > 1


async def test_a_prompt_longer_than_the_context_is_refused_with_the_numbers(backend):
    too_long = ask("eggs " * (backend.context_length + 10))
    with pytest.raises(
        BackendError, match=r"prompt of agent 'a' has \d+ tokens, but the model's context holds 1024"
    ):
        await backend.generate([too_long])


async def test_n_samples_are_n_seeded_rows_and_all_come_back(backend):
    three = SamplingParams(temperature=1.0, max_tokens=12, seed=5, n=3)

    [response] = await backend.generate([ask("What is 12 * 7?", three)])

    one_each = [
        (await backend.generate([ask("What is 12 * 7?", three.model_copy(update={"n": 1, "seed": 5 + i}))]))[
            0
        ]
        for i in range(3)
    ]
    assert [sample.text for sample in response.samples] == [alone.text for alone in one_each]  # seeds 5, 6, 7
    assert response.text == response.samples[0].text
    assert len({sample.text for sample in response.samples}) > 1
    assert response.usage.completion_tokens == sum(alone.usage.completion_tokens for alone in one_each)
    assert response.usage.prompt_tokens == one_each[0].usage.prompt_tokens  # the prompt counts once


async def test_token_logprobs_are_the_models_own_distribution(backend, monkeypatch):
    import torch

    sampling = SamplingParams(temperature=1.0, max_tokens=10, seed=1, logprobs=True, top_logprobs=3)
    request = ask("What is 3 + 4?", sampling)
    outputs = []
    real = backend.model.generate
    monkeypatch.setattr(
        backend.model, "generate", lambda **kwargs: outputs.append(real(**kwargs)) or outputs[-1]
    )

    [response] = await backend.generate([request])

    tokens = response.logprobs
    assert tokens is not None and len(tokens) == response.usage.completion_tokens
    assert "".join(token.token for token in tokens).startswith(response.text)  # the pieces spell the text
    # the same numbers from one plain forward pass over prompt + completion: raw logits, no temperature
    prompt_ids = chat_token_ids(backend, request)
    generated = outputs[0][0, len(prompt_ids) :].tolist()[: len(tokens)]
    with torch.inference_mode():
        logits = backend.model(input_ids=torch.tensor([prompt_ids + generated])).logits[
            0, len(prompt_ids) - 1 : -1
        ]
    expected = torch.log_softmax(logits.float(), dim=-1)
    for step, token in enumerate(tokens):
        assert token.logprob == pytest.approx(float(expected[step, generated[step]]), abs=1e-4)
        assert token.entropy == pytest.approx(float(torch.special.entr(expected[step].exp()).sum()), abs=1e-4)
        assert [logprob for _, logprob in token.top_logprobs] == pytest.approx(
            expected[step].topk(3).values.tolist(), abs=1e-4
        )
    monkeypatch.undo()
    without = sampling.model_copy(update={"logprobs": False, "top_logprobs": 0})
    [plain] = await backend.generate([ask("What is 3 + 4?", without)])
    assert plain.logprobs is None and plain.text == response.text  # asking for logprobs changes nothing else


def test_logprobs_reach_the_message_on_the_tiny_model(tiny_model_dir):
    sampling = SamplingParams(temperature=0.0, max_tokens=8, logprobs=True)
    scenario = Scenario(
        name="tiny-logprobs", agents=[Debater("a", sampling=sampling)], rounds=1, stop="fixed"
    )

    result = run_debate(scenario, "What is 3 + 4?", backend=f"hf:{tiny_model_dir}?device=cpu")

    [message] = result.transcript.messages
    summary = message.logprobs
    assert summary is not None and summary.tokens == message.usage.completion_tokens
    assert summary.mean_logprob < 0 and summary.min_logprob <= summary.mean_logprob
    assert summary.entropy_exact and summary.mean_entropy is not None and summary.mean_entropy > 0
    assert summary.token_logprobs is None  # tokens are kept only when top_logprobs asks for alternatives


def test_a_missing_model_directory_says_how_to_get_a_model(tmp_path):
    with pytest.raises(
        FileNotFoundError, match="does not exist; build the demo model with `debate model build-demo`"
    ):
        TransformersBackend(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="has no config.json"):
        TransformersBackend(tmp_path)


def test_hf_uris_resolve_to_a_batching_local_model_loaded_once(tiny_model_dir):
    uri = f"hf:{tiny_model_dir}?device=cpu&max_batch_size=4&max_wait_ms=20"

    backend = resolve_backend(uri)

    assert isinstance(backend, BatchingBackend) and isinstance(backend.inner, TransformersBackend)
    assert (backend.max_batch_size, backend.max_wait_s) == (4, 0.02)
    assert (backend.inner.device, backend.inner.max_batch_size) == ("cpu", 4)
    assert resolve_backend(uri) is backend  # a second debate reuses the loaded model


def test_hf_uris_expand_the_home_directory(tiny_model_dir, monkeypatch):
    monkeypatch.setenv("HOME", str(tiny_model_dir.parent))
    backend = resolve_backend(f"hf:~/{tiny_model_dir.name}?device=cpu")
    assert backend.inner.model_path == str(tiny_model_dir)


@pytest.mark.parametrize(
    ("query", "complaint"),
    [
        ("colour=red", "unknown parameter 'colour'; valid parameters: .*max_batch_size"),
        ("max_batch_size=0", r"max_batch_size='0': expected a whole number >= 1"),
        ("max_wait_ms=soon", "max_wait_ms='soon'"),
        ("device=tpu", "device='tpu': expected 'auto', 'cpu'"),
        ("dtype=float64", "dtype='float64': expected one of"),
    ],
)
def test_bad_hf_uris_name_the_bad_part(tiny_model_dir, query, complaint):
    with pytest.raises(ValueError, match=complaint):
        resolve_backend(f"hf:{tiny_model_dir}?{query}")


def test_an_hf_uri_needs_a_path():
    with pytest.raises(ValueError, match=r"expected hf:MODEL_DIR"):
        parse_hf_uri("hf:?device=cpu")


def test_two_debaters_debate_on_the_tiny_model_with_exact_token_counts(tiny_model_dir):
    sampling = SamplingParams(temperature=0.8, max_tokens=16, seed=1)
    scenario = Scenario(
        name="tiny-debate",
        agents=[Debater("a", sampling=sampling), Debater("b", sampling=sampling)],
        protocol="simultaneous",
        rounds=2,
        stop="fixed",
    )
    backend = resolve_backend(f"hf:{tiny_model_dir}?device=cpu&max_wait_ms=200")
    model = backend.inner
    seen: list[ChatRequest] = []
    real_generate = model.generate

    async def recording_generate(requests):
        seen.extend(requests)
        return await real_generate(requests)

    model.generate = recording_generate  # records the exact prompts; generation itself is untouched
    batches_before = backend.batches
    try:
        result = run_debate(scenario, "Janet has 3 apples and buys 4 more. How many now?", backend=backend)
    finally:
        del model.generate

    messages = result.transcript.messages
    assert [(m.round, m.author) for m in messages] == [(0, "a"), (0, "b"), (1, "a"), (1, "b")]
    assert backend.batches - batches_before == 2  # both debaters of a round in one batch
    for message in messages:
        [request] = [r for r in seen if (r.agent, r.round) == (message.author, message.round)]
        assert message.usage.prompt_tokens == len(chat_token_ids(model, request))
        assert 0 < message.usage.completion_tokens <= 16
        assert message.model == str(tiny_model_dir.resolve())
    round_one_prompt = next(r for r in seen if r.round == 1).messages[-1].content
    assert messages[1].text.strip()[:20] in round_one_prompt  # later rounds read the peers' real model output


@pytest.mark.gpu
async def test_generates_on_cuda(tiny_model_dir):
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU visible to torch")
    gpu = TransformersBackend(tiny_model_dir, device="auto")
    seeded = SamplingParams(temperature=1.0, max_tokens=8, seed=5)

    first, second = await gpu.generate([ask("Hi?", seeded), ask("Hi?", seeded)])

    assert gpu.device == "cuda" and first.text == second.text and first.usage.completion_tokens > 0


def test_per_row_sampling_follows_each_rows_distribution_and_keeps_to_the_nucleus():
    """Many seeded rows over one set of logits: token frequencies match the softmax; top_p drops the tail."""
    import torch
    from debate.agents.backends.transformers import sampling_processors

    rows, vocabulary = 20_000, 12
    logits = torch.linspace(-2.0, 2.0, vocabulary).repeat(rows, 1)
    expected = torch.softmax(logits[0].double() / 0.8, dim=-1)

    def draw(top_p: float) -> torch.Tensor:
        scores = logits.clone()
        for processor in sampling_processors(
            SamplingParams(temperature=0.8, top_p=top_p), list(range(rows)), 1, "cpu"
        ):
            scores = processor(None, scores)
        assert bool((scores.max(dim=-1).values == 0).all()) and bool(
            (torch.isfinite(scores).sum(-1) == 1).all()
        )
        return torch.bincount(scores.argmax(dim=-1), minlength=vocabulary).double() / rows

    frequencies = draw(1.0)
    tolerance = 5 * (expected * (1 - expected) / rows).sqrt()  # five standard errors per token
    assert bool(((frequencies - expected).abs() <= tolerance).all()), (frequencies, expected)

    nucleus = draw(0.5)  # the most likely tokens until half the mass: only the top few can ever come out
    kept = int((expected.flip(0).cumsum(0) - expected.flip(0) < 0.5).sum())
    assert bool((nucleus[: vocabulary - kept] == 0).all()) and bool((nucleus[vocabulary - kept :] > 0).all())
