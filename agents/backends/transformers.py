"""A local Hugging Face model run in this process with ``transformers``: the embedded default backend.

No server and no GPU needed: ``hf:PATH`` loads a model directory (the demo
model from ``debate model build-demo``, a tiny test model, or any downloaded
chat model) and generates on CPU or CUDA. Loading is local only; nothing is
ever fetched from a hub.

Batching: one ``generate`` call becomes as few ``model.generate`` calls as
possible: requests with identical sampling parameters share one left-padded
batch (up to ``max_batch_size``), prompts of similar length together.
Concurrent single-request calls from many debates are gathered into such
batches by ``BatchingBackend``, which the ``hf:`` URI puts in front of this
backend.

Sampling: each request draws from its own random generator, seeded from
``SamplingParams.seed`` (or at random without one). A seeded request
therefore gives the same text whatever else shares its batch, the semantics
of vLLM's and OpenAI's per-request seeds.

Samples and log-probabilities: ``SamplingParams.n > 1`` becomes n rows of
the batch, seeded ``seed, seed + 1, ...`` (or at random). With
``SamplingParams.logprobs`` each token comes with its log-probability under
the model's own distribution (before temperature and top-p, as OpenAI
reports them), the exact entropy of that distribution, and the
``top_logprobs`` most likely alternatives.

Generation runs in a worker thread, one batch at a time per model, so the
event loop keeps serving other debates (and other backends) meanwhile.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from debate.agents.backends import register_scheme
from debate.agents.backends._uri import parse_target_uri, positive_float, positive_int, text
from debate.agents.backends.base import Backend, BackendError, ChatRequest, ChatResponse, Completion
from debate.agents.backends.batching import BatchingBackend, prompt_chars

from debate.logprobs import TokenLogprob, token_texts
from debate.messages import SamplingParams, Usage

if TYPE_CHECKING:
    import torch

DTYPES = ("auto", "float32", "bfloat16", "float16")


def resolve_device(device: str) -> str:
    """``"auto"`` picks CUDA when torch sees a GPU, else the CPU; explicit choices are checked."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise BackendError(
            f"device={device!r}: torch sees no CUDA GPU here; use device='cpu' or device='auto'"
        )
    if device != "cpu" and not device.startswith(("cuda", "mps")):
        raise ValueError(f"device={device!r}: expected 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'")
    return device


def model_directory(path: str | Path) -> Path:
    """The model directory ``path`` (``~`` expanded), or an error that says what is missing and how to get it."""
    directory = Path(path).expanduser()
    if not directory.is_dir():
        raise FileNotFoundError(
            f"model directory {str(directory)!r} does not exist; build the demo model with "
            "`debate model build-demo`, or pass a local directory holding config.json and tokenizer files"
        )
    if not (directory / "config.json").is_file():
        raise FileNotFoundError(
            f"model directory {str(directory)!r} has no config.json; expected a model saved with save_pretrained"
        )
    return directory


class TransformersBackend:
    """A causal LM loaded from a local directory, generating chat completions in batches.

    ``device``: ``"auto"`` (CUDA if available, else CPU), ``"cpu"``, ``"cuda"``,
    ``"cuda:N"``. ``dtype``: one of ``DTYPES`` (``"auto"`` keeps the saved
    precision). ``max_batch_size`` caps the rows of one ``model.generate``.
    Responses report the model directory as ``model``, whatever
    ``ChatRequest.model`` says: this backend serves exactly one model.
    Generation stops at ``max_tokens``, at a stop string (left out of the
    text, as OpenAI-compatible servers do), at the end of the assistant turn,
    or at the model's context length, whichever comes first.
    """

    def __init__(
        self,
        model_path: str | Path,
        *,
        device: str = "auto",
        dtype: str = "auto",
        max_batch_size: int = 16,
        name: str | None = None,
    ) -> None:
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be at least 1, got {max_batch_size}")
        if dtype not in DTYPES:
            raise ValueError(f"dtype={dtype!r}: expected one of {list(DTYPES)}")
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        directory = model_directory(model_path)
        self.model_path = str(directory)
        self.name = name or f"hf:{directory}"
        self.device = resolve_device(device)
        self.max_batch_size = max_batch_size
        self.tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
        if not self.tokenizer.chat_template:
            raise BackendError(
                f"{self.name}: the tokenizer has no chat template (chat_template in tokenizer_config.json); "
                "TransformersBackend serves chat models only"
            )
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(
            directory, local_files_only=True, dtype=dtype if dtype == "auto" else getattr(torch, dtype)
        ).to(self.device)
        self.model.eval()
        self.eos_token_ids = end_of_turn_ids(self.model, self.tokenizer)
        self.context_length: int | None = getattr(self.model.config, "max_position_embeddings", None)
        self._device_lock = threading.Lock()  # one batch on the device at a time

    def __repr__(self) -> str:
        return f"TransformersBackend({self.model_path!r}, device={self.device!r})"

    async def generate(self, requests: Sequence[ChatRequest]) -> list[ChatResponse]:
        started = time.perf_counter()
        rows = [(index, row) for index, request in enumerate(requests) for row in sample_rows(request)]
        generated: list[tuple[Completion, Usage] | None] = [None] * len(rows)
        for sampling, indices in group_by_sampling([row for _, row in rows]).items():
            indices.sort(key=lambda index: prompt_chars(rows[index][1]))  # similar lengths pad less
            for start in range(0, len(indices), self.max_batch_size):
                chunk = indices[start : start + self.max_batch_size]
                batch = [rows[index][1] for index in chunk]
                results = await asyncio.to_thread(self._generate_batch, batch, sampling)
                for index, result in zip(chunk, results, strict=True):
                    generated[index] = result
        latency = time.perf_counter() - started
        per_request: list[list[tuple[Completion, Usage]]] = [[] for _ in requests]
        for (index, _), result in zip(rows, generated, strict=True):
            assert result is not None, "every row belongs to one chunk"
            per_request[index].append(result)
        return [
            ChatResponse.of_completions(
                [completion for completion, _ in samples],
                model=self.model_path,
                usage=Usage(
                    prompt_tokens=samples[0][1].prompt_tokens,  # one prompt, however many samples
                    completion_tokens=sum(usage.completion_tokens for _, usage in samples),
                ),
                latency_s=latency,
            )
            for samples in per_request
        ]

    # -- in the worker thread ----------------------------------------------------------

    def _generate_batch(
        self, requests: Sequence[ChatRequest], sampling: SamplingParams
    ) -> list[tuple[Completion, Usage]]:
        """Run one left-padded ``model.generate`` for requests that share ``sampling``.

        Everything happens under the device lock, tokenizing included: a fast
        tokenizer called with padding from two threads at once fails ("Already borrowed").
        """
        import torch
        from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteriaList

        with self._device_lock, torch.inference_mode():
            prompts = [self._prompt_text(request) for request in requests]
            inputs = self.tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
            prompt_tokens = inputs["attention_mask"].sum(dim=1).tolist()
            width = inputs["input_ids"].shape[1]
            finish = FinishTracker(self.tokenizer, width, len(requests), self.eos_token_ids, sampling.stop)
            max_new_tokens = self._room_for(requests, prompt_tokens, sampling.max_tokens)
            recorder = LogprobRecorder(sampling.top_logprobs) if sampling.logprobs else None
            processors = LogitsProcessorList([recorder] if recorder else [])  # first: it sees the raw logits
            if sampling.temperature > 0:
                seeds = [request.sampling.seed for request in requests]
                processors.extend(sampling_processors(sampling, seeds, max_new_tokens, self.device))
            config = GenerationConfig(
                max_new_tokens=max_new_tokens,
                do_sample=False,  # PerRowSampler has already chosen each row's token; greedy keeps it
                pad_token_id=self.tokenizer.pad_token_id,
                eos_token_id=self.eos_token_ids,
            )
            try:
                output = self.model.generate(
                    **inputs.to(self.device),
                    generation_config=config,
                    logits_processor=processors,
                    stopping_criteria=StoppingCriteriaList([finish]),
                )
            except Exception as error:
                raise BackendError(
                    f"{self.name}: generation failed ({type(error).__name__}: {error})"
                ) from error
            if recorder is not None:
                recorder.finish(output[:, width:])
            results = []
            for row, prompt_length in enumerate(prompt_tokens):
                generated = output[row, width:].tolist()[: finish.length(row, output.shape[1] - width)]
                text_ = cut_at_stop(self.tokenizer.decode(generated, skip_special_tokens=True), sampling.stop)
                logprobs = recorder.tokens(row, generated, self.tokenizer) if recorder else None
                results.append(
                    (
                        Completion(text=text_, logprobs=logprobs),
                        Usage(prompt_tokens=prompt_length, completion_tokens=len(generated)),
                    )
                )
            return results

    def _prompt_text(self, request: ChatRequest) -> str:
        return self.tokenizer.apply_chat_template(request.chat(), tokenize=False, add_generation_prompt=True)

    def _room_for(self, requests: Sequence[ChatRequest], prompt_tokens: list[int], max_tokens: int) -> int:
        """``max_tokens``, shortened to what fits in the context; a prompt that does not fit is an error."""
        if self.context_length is None:
            return max_tokens
        longest = max(prompt_tokens)
        if longest >= self.context_length:
            agent = requests[prompt_tokens.index(longest)].agent
            raise BackendError(
                f"{self.name}: the prompt of agent {agent!r} has {longest} tokens, but the model's context "
                f"holds {self.context_length}; shorten the prompt (fewer peers, shorter max_tokens in earlier rounds)"
            )
        return min(max_tokens, self.context_length - longest)


def end_of_turn_ids(model: Any, tokenizer: Any) -> list[int]:
    """Every token that ends a turn: the generation config's EOS ids (Llama 3 has several) and the tokenizer's."""
    configured = model.generation_config.eos_token_id
    ids = configured if isinstance(configured, list) else [configured]
    return sorted({token for token in [*ids, tokenizer.eos_token_id] if token is not None})


def sample_rows(request: ChatRequest) -> list[ChatRequest]:
    """The request as ``n`` single-sample rows, seeded ``seed, seed + 1, ...`` when it has a seed."""
    n, seed = request.sampling.n, request.sampling.seed
    if n == 1:
        return [request]
    return [
        request.model_copy(
            update={
                "sampling": request.sampling.model_copy(
                    update={"n": 1, "seed": None if seed is None else seed + i}
                )
            }
        )
        for i in range(n)
    ]


def group_by_sampling(requests: Sequence[ChatRequest]) -> dict[SamplingParams, list[int]]:
    """Request indices grouped by sampling parameters, seeds aside: each row brings its own seed."""
    groups: dict[SamplingParams, list[int]] = {}
    for index, request in enumerate(requests):
        groups.setdefault(request.sampling.model_copy(update={"seed": None}), []).append(index)
    return groups


def cut_at_stop(text_: str, stops: Sequence[str]) -> str:
    """The text before the first stop string, which itself is left out."""
    positions = [text_.find(stop) for stop in stops if stop and stop in text_]
    return text_[: min(positions)] if positions else text_


class PerRowSampler:
    """A logits processor that samples each row's next token from that row's own random numbers.

    Batched ``torch.multinomial`` draws all rows from one generator, so a
    row's sample would depend on its batch mates. Here each row's generator,
    seeded from its request, draws one uniform number per step up front;
    every step then samples all rows at once by inverting each row's
    cumulative distribution at its own number. A row's sample depends only on
    its seed and its logits, and a step costs a few batched tensor
    operations, not one ``multinomial`` per row.

    It comes last, after transformers' temperature and top-p warpers
    (``sampling_processors``). The chosen token keeps score 0 and every other
    token gets -inf, so greedy decoding in ``generate`` picks it.
    """

    def __init__(self, seeds: Sequence[int | None], steps: int, device: str) -> None:
        import torch

        self.dtype = torch.float32 if device.startswith("mps") else torch.float64  # MPS has no float64
        # steps x rows, drawn on the CPU so that a seed gives the same sample on every device
        self.uniforms = torch.stack(
            [
                torch.rand(
                    steps,
                    generator=torch.Generator().manual_seed(
                        seed if seed is not None else secrets.randbits(63)
                    ),
                    dtype=torch.float64,
                )
                for seed in seeds
            ],
            dim=1,
        ).to(device=device, dtype=self.dtype)
        self.step = 0

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        import torch

        cumulative = torch.softmax(scores.to(self.dtype), dim=-1).cumsum(dim=-1)
        total = cumulative[:, -1:]
        # strictly below the total, so the first token whose cumulative mass exceeds it has probability > 0
        below_total = torch.nextafter(total, torch.zeros_like(total))
        target = torch.minimum(self.uniforms[self.step, :, None] * total, below_total)
        self.step += 1
        chosen = torch.searchsorted(cumulative, target, right=True)
        return torch.full_like(scores, float("-inf")).scatter_(1, chosen, 0.0)


def sampling_processors(
    sampling: SamplingParams, seeds: Sequence[int | None], steps: int, device: str
) -> list[Any]:
    """Temperature, then nucleus (``top_p``) filtering, then ``PerRowSampler``: seeded sampling for one batch."""
    from transformers import TemperatureLogitsWarper, TopPLogitsWarper

    warpers: list[Any] = [TemperatureLogitsWarper(sampling.temperature)]
    if sampling.top_p < 1.0:
        warpers.append(TopPLogitsWarper(sampling.top_p))
    return [*warpers, PerRowSampler(seeds, steps, device)]


class LogprobRecorder:
    """A logits processor that records each row's token log-probabilities while ``generate`` runs.

    It comes first, so it sees the model's own scores, before temperature and
    top-p. Keeping every step's full distribution would cost steps x rows x
    vocabulary floats, so each step keeps only what the summary needs (the
    entropy, the top alternatives) and the last distribution, from which the
    next call (or ``finish``) reads the log-probability of the token chosen.
    """

    def __init__(self, top: int) -> None:
        self.top = top
        self.chosen: list[torch.Tensor] = []
        self.entropies: list[torch.Tensor] = []
        self.alternatives: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._last: torch.Tensor | None = None

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        import torch

        self._gather(input_ids[:, -1])
        logprobs = torch.log_softmax(scores.float(), dim=-1)
        self.entropies.append(torch.special.entr(logprobs.exp()).sum(dim=-1))
        if self.top:
            self.alternatives.append(logprobs.topk(self.top, dim=-1))
        self._last = logprobs
        return scores

    def _gather(self, chosen: torch.Tensor) -> None:
        if self._last is not None:
            self.chosen.append(self._last.gather(1, chosen[:, None]).squeeze(1))
            self._last = None

    def finish(self, generated: torch.Tensor) -> None:
        """Read the last step's chosen tokens (no processor call follows the last step)."""
        self._gather(generated[:, -1])

    def tokens(self, row: int, generated: list[int], tokenizer: Any) -> list[TokenLogprob]:
        """Row ``row``'s tokens (the first ``len(generated)`` steps), each as the text it adds to the decoded text."""
        texts = token_texts(tokenizer, generated)
        return [
            TokenLogprob(
                token=texts[step],
                logprob=float(self.chosen[step][row]),
                entropy=float(self.entropies[step][row]),
                top_logprobs=[
                    (tokenizer.decode([token_id]), float(logprob))
                    for logprob, token_id in zip(
                        self.alternatives[step][0][row].tolist(),
                        self.alternatives[step][1][row].tolist(),
                        strict=True,
                    )
                ]
                if self.top
                else [],
            )
            for step in range(len(generated))
        ]


class FinishTracker:
    """A stopping criterion that ends rows at a stop string and remembers where every row finished.

    ``generate`` pads rows that finished early, and the padding id may equal
    the end-of-turn id; recording the step at which each row ended (end of
    turn or stop string) is what makes completion token counts exact.
    """

    def __init__(
        self, tokenizer: Any, prompt_width: int, rows: int, eos_token_ids: Sequence[int], stops: Sequence[str]
    ) -> None:
        self.tokenizer = tokenizer
        self.prompt_width = prompt_width
        self.eos_token_ids = list(eos_token_ids)
        self.stops = [stop for stop in stops if stop]
        self.finished_at: list[int | None] = [None] * rows
        self._eos: torch.Tensor | None = None  # the ids as a tensor on the model's device, made on first use

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor, **kwargs: Any) -> torch.Tensor:
        import torch

        if self._eos is None:
            self._eos = torch.tensor(self.eos_token_ids, device=input_ids.device)
        steps = input_ids.shape[1] - self.prompt_width
        at_end_of_turn = torch.isin(input_ids[:, -1], self._eos).tolist()  # one check for the whole batch
        for row, finished in enumerate(self.finished_at):
            if finished is None and (
                at_end_of_turn[row] or self._at_stop(input_ids[row, self.prompt_width :])
            ):
                self.finished_at[row] = steps
        return torch.tensor([finished is not None for finished in self.finished_at], device=input_ids.device)

    def _at_stop(self, generated: torch.Tensor) -> bool:
        if not self.stops:
            return False
        text_ = self.tokenizer.decode(generated, skip_special_tokens=True)
        return any(stop in text_ for stop in self.stops)

    def length(self, row: int, steps: int) -> int:
        """Tokens that ``row`` generated: up to where it finished, else every step (it hit the limit)."""
        finished = self.finished_at[row]
        return steps if finished is None else finished


# -- the ``hf:`` URI scheme -------------------------------------------------------------

URI_PARAMS = {
    "device": text,
    "dtype": text,
    "max_batch_size": positive_int,
    "max_wait_ms": positive_float,
}
"""Query parameters of ``hf:`` URIs."""

HF_URI_FORM = "hf:MODEL_DIR[?device=auto&dtype=auto&max_batch_size=16&max_wait_ms=5]"

_loaded: weakref.WeakValueDictionary[str, Backend] = weakref.WeakValueDictionary()


def parse_hf_uri(uri: str) -> dict[str, Any]:
    """``TransformersBackend``/``BatchingBackend`` settings from ``hf:MODEL_DIR[?device=cpu&max_batch_size=16&...]``."""
    path, params = parse_target_uri(uri, "hf", URI_PARAMS, HF_URI_FORM)
    return {"model_path": path, **params}


def backend_from_hf_uri(uri: str) -> Backend:
    """A batching ``TransformersBackend`` for ``uri``, shared while in use: a URI loads its model once."""
    settings = parse_hf_uri(uri)
    directory = model_directory(settings.pop("model_path")).resolve()
    key = f"{directory}?{sorted(settings.items())}"
    backend = _loaded.get(key)
    if backend is None:
        max_wait_ms = settings.pop("max_wait_ms", 5.0)
        model = TransformersBackend(directory, **settings)
        backend = BatchingBackend(model, max_batch_size=model.max_batch_size, max_wait_s=max_wait_ms / 1000)
        _loaded[key] = backend
    return backend


register_scheme("hf", lambda rest: backend_from_hf_uri(f"hf:{rest}"))
