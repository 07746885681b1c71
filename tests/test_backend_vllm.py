"""VLLMBackend: clear errors where vLLM cannot run, and a real engine where it can.

The first tests run everywhere. The last one needs vLLM and a CUDA GPU
(markers ``vllm`` and ``gpu``, deselected by default); it skips, saying why,
when either is missing.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import types
from itertools import islice

import pytest
from debate.agents.backends import BackendError, resolve_backend
from debate.agents.backends.vllm import VLLMBackend, final_output_only, parse_vllm_uri, vllm_sampling

from debate import Debater, SamplingParams, Scenario, arun_debate, compile_debate


def test_importing_the_backend_module_does_not_import_vllm():
    import debate.agents.backends.vllm  # noqa: F401 - registers the vllm: scheme

    assert "vllm" not in sys.modules


def test_without_vllm_construction_says_what_to_install_and_what_to_use_instead(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # `import vllm` now fails, installed or not

    with pytest.raises(BackendError) as caught:
        resolve_backend("vllm:Qwen/Qwen2.5-0.5B-Instruct")

    message = str(caught.value)
    assert "pip install 'debate[vllm]'" in message
    assert "vllm serve" in message and "OpenAIBackend" in message


def test_without_a_gpu_construction_says_so(monkeypatch):
    import torch

    monkeypatch.setitem(sys.modules, "vllm", types.ModuleType("vllm"))  # vLLM "installed", but no GPU
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)

    with pytest.raises(BackendError, match="needs a CUDA GPU.*vllm serve"):
        VLLMBackend("Qwen/Qwen2.5-0.5B-Instruct")


class StandInEngine:
    """Plays vllm.AsyncLLMEngine's part (the boundary below the backend): records what it gets and how much at once."""

    def __init__(self) -> None:
        self.prompts: list[dict] = []
        self.params: list[dict] = []
        self.in_flight = self.peak = 0

    def get_tokenizer(self) -> StandInTokenizer:
        return StandInTokenizer()

    async def generate(self, prompt: dict, sampling_params: dict, request_id: str):
        self.prompts.append(prompt)
        self.params.append(sampling_params)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep(0.01)
        self.in_flight -= 1
        yield types.SimpleNamespace(
            outputs=[types.SimpleNamespace(text="#### 4", token_ids=[7, 8, 9])], finished=True
        )


class StandInTokenizer:
    def apply_chat_template(self, chat: list[dict], *, tokenize: bool, add_generation_prompt: bool) -> str:
        assert not tokenize and add_generation_prompt
        return "".join(f"<{message['role']}>{message['content']}" for message in chat) + "<assistant>"

    def encode(self, text: str, *, add_special_tokens: bool) -> list[int]:
        assert not add_special_tokens  # the chat template already placed every special token
        return [len(word) for word in text.split()]


def stand_in_vllm(engine: StandInEngine) -> tuple[types.ModuleType, list[dict]]:
    engine_args: list[dict] = []
    vllm = types.ModuleType("vllm")
    vllm.AsyncEngineArgs = lambda **kwargs: engine_args.append(kwargs) or kwargs  # type: ignore[attr-defined]
    vllm.AsyncLLMEngine = types.SimpleNamespace(from_engine_args=lambda args: engine)  # type: ignore[attr-defined]
    vllm.SamplingParams = dict  # type: ignore[attr-defined]
    return vllm, engine_args


async def test_every_request_of_concurrent_debates_is_in_the_engine_at_once(monkeypatch):
    import torch

    engine = StandInEngine()
    vllm, engine_args = stand_in_vllm(engine)
    monkeypatch.setitem(sys.modules, "vllm", vllm)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    backend = VLLMBackend("some/model", max_model_len=4096)
    scenario = Scenario(name="s", agents=[Debater("a"), Debater("b"), Debater("c")], rounds=2, stop="fixed")
    graph = compile_debate(scenario, backend)

    results = await asyncio.gather(
        *(arun_debate(scenario, f"What is {i} + 4 - {i}?", graph=graph) for i in range(5))
    )

    assert engine_args == [
        {
            "model": "some/model",
            "tensor_parallel_size": 1,
            "enable_prefix_caching": True,
            "max_model_len": 4096,
        }
    ]
    assert engine.peak == 5 * 3  # continuous batching: all debaters of all debates submitted together
    assert all(set(prompt) == {"prompt_token_ids"} for prompt in engine.prompts)
    assert engine.params[0] == {**vllm_sampling(SamplingParams()), **final_output_only()}
    assert [result.final_answer for result in results] == ["4"] * 5
    message = results[0].transcript.messages[0]
    assert message.usage.completion_tokens == 3 and message.usage.prompt_tokens == len(
        engine.prompts[0]["prompt_token_ids"]
    )


def test_sampling_parameters_map_to_vllms():
    sampling = SamplingParams(
        temperature=0.2, top_p=0.8, max_tokens=64, seed=3, stop=("####",), n=2, logprobs=True
    )
    assert vllm_sampling(sampling) == {
        "temperature": 0.2,
        "top_p": 0.8,
        "max_tokens": 64,
        "seed": 3,
        "stop": ["####"],
        "n": 2,
        "logprobs": 0,  # the chosen token's log-probability, no alternatives
    }
    assert (
        vllm_sampling(SamplingParams())["stop"] is None
        and vllm_sampling(SamplingParams())["logprobs"] is None
    )
    assert vllm_sampling(SamplingParams(logprobs=True, top_logprobs=5))["logprobs"] == 5


VOCABULARY = {7: "####", 8: " 4", 9: " 5", 10: "\n"}


class SamplingEngine(StandInEngine):
    """Answers like vLLM's engine with n samples and their logprobs (``{token id: Logprob}`` per position)."""

    def __init__(self, samples: list[list[int]]) -> None:
        super().__init__()
        self.samples = samples

    def get_tokenizer(self) -> StandInTokenizer:
        return VocabularyTokenizer()

    async def generate(self, prompt: dict, sampling_params: dict, request_id: str):
        self.params.append(sampling_params)

        def logprob(token_id: int, rank: int) -> types.SimpleNamespace:
            return types.SimpleNamespace(logprob=-0.1 * rank, rank=rank, decoded_token=VOCABULARY[token_id])

        outputs = []
        for index, token_ids in enumerate(self.samples):
            positions = None
            if sampling_params["logprobs"] is not None:
                # the chosen token (rank 2 when it is not 7, which is always ranked first) and the top alternatives
                positions = [
                    {token_id: logprob(token_id, 1 if token_id == 7 else 2), 7: logprob(7, 1)}
                    for token_id in token_ids
                ]
            text = "".join(VOCABULARY[token_id] for token_id in token_ids)
            outputs.append(
                types.SimpleNamespace(index=index, text=text, token_ids=token_ids, logprobs=positions)
            )
        yield types.SimpleNamespace(outputs=outputs, finished=True)


class VocabularyTokenizer(StandInTokenizer):
    def decode(self, token_ids: list[int], *, skip_special_tokens: bool) -> str:
        return "".join(VOCABULARY[token_id] for token_id in token_ids)


async def test_every_sample_and_its_logprobs_come_back_from_the_engine(monkeypatch):
    import torch

    engine = SamplingEngine([[7, 8], [7, 9]])
    vllm, _ = stand_in_vllm(engine)
    monkeypatch.setitem(sys.modules, "vllm", vllm)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    backend = VLLMBackend("some/model")
    sampling = SamplingParams(n=2, logprobs=True, top_logprobs=1, max_tokens=4)
    scenario = Scenario(name="s", agents=[Debater("a", sampling=sampling)], rounds=1, stop="fixed")

    result = await arun_debate(scenario, "What is 2 + 2?", backend=backend)

    assert engine.params[0]["n"] == 2 and engine.params[0]["logprobs"] == 1
    [message] = result.transcript.messages
    assert message.text == "#### 4" and message.answer == "4"
    assert [(sample.text, sample.answer) for sample in message.samples] == [("#### 4", "4"), ("#### 5", "5")]
    assert message.sample_agreement == 0.5
    assert message.usage.completion_tokens == 4
    tokens = message.logprobs.token_logprobs
    assert [(token.token, token.logprob) for token in tokens] == [("####", -0.1), (" 4", -0.2)]
    assert tokens[1].top_logprobs == [("####", -0.1)]  # the one alternative asked for, by rank
    assert message.logprobs.answer_logprob == pytest.approx(-0.2)  # the answer is the token " 4"


def test_uri_grammar():
    assert parse_vllm_uri("vllm:/models/qwen-7b?tensor_parallel_size=2&gpu_memory_utilization=0.85") == {
        "model": "/models/qwen-7b",
        "tensor_parallel_size": 2,
        "gpu_memory_utilization": 0.85,
    }
    assert parse_vllm_uri("vllm:Qwen/Qwen2.5-7B-Instruct?max_model_len=8192&enable_prefix_caching=false") == {
        "model": "Qwen/Qwen2.5-7B-Instruct",
        "max_model_len": 8192,
        "enable_prefix_caching": False,
    }


@pytest.mark.parametrize(
    ("uri", "complaint"),
    [
        ("vllm:", "expected vllm:MODEL_PATH_OR_ID"),
        (
            "vllm:m?tensor_parallel=2",
            "unknown parameter 'tensor_parallel'; valid parameters: .*tensor_parallel_size",
        ),
        ("vllm:m?gpu_memory_utilization=90", r"gpu_memory_utilization='90': expected a number in \(0, 1\]"),
        ("vllm:m?enable_prefix_caching=maybe", "expected true or false"),
    ],
)
def test_bad_uris_name_the_bad_part(uri, complaint):
    with pytest.raises(ValueError, match=complaint):
        parse_vllm_uri(uri)


def _vllm_and_cuda_missing() -> str | None:
    if importlib.util.find_spec("vllm") is None:
        return "vllm is not installed (pip install 'debate[vllm]')"
    import torch

    if not torch.cuda.is_available():
        return "no CUDA GPU visible to torch"
    return None


@pytest.mark.vllm
@pytest.mark.gpu
@pytest.mark.timeout(600)
def test_debates_run_on_a_real_engine_with_every_request_in_flight_at_once(tmp_path):
    missing = _vllm_and_cuda_missing()
    if missing:
        pytest.skip(missing)
    from debate.datasets import load_gsm8k
    from debate.tiny_model import build_tiny_model

    items = list(islice(load_gsm8k(split="test"), 6))
    model_dir = build_tiny_model(
        tmp_path / "tiny", [item.question for item in items] * 20, max_positions=2048
    )
    backend = VLLMBackend(str(model_dir), gpu_memory_utilization=0.2, max_model_len=2048, enforce_eager=True)
    short = SamplingParams(temperature=0.8, max_tokens=24, seed=0, logprobs=True)
    scenario = Scenario(
        name="tiny-vllm",
        agents=[Debater("a", sampling=short), Debater("b", sampling=short), Debater("c", sampling=short)],
        protocol="simultaneous",
        rounds=2,
        stop="fixed",
    )
    graph = compile_debate(scenario, backend)

    async def run_all():
        return await asyncio.gather(*(arun_debate(scenario, item.question, graph=graph) for item in items))

    try:
        results = asyncio.run(run_all())
    finally:
        backend.shutdown()

    for result in results:
        messages = result.transcript.messages
        assert len(messages) == 3 * 2
        assert all(0 < m.usage.completion_tokens <= 24 and m.usage.prompt_tokens > 0 for m in messages)
        assert all(m.model == str(model_dir) for m in messages)
        assert all(m.logprobs is not None and m.logprobs.tokens == m.usage.completion_tokens for m in messages)
        assert all(m.logprobs.mean_logprob < 0 for m in messages)
