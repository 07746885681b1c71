"""vLLM's in-process async engine as a backend (optional extra ``[vllm]``, needs a CUDA GPU).

The engine batches continuously: every request submitted while others run
joins the running batch. So this backend does no batching of its own; it
submits each request of every concurrent ``generate`` call to the engine at
once, and the engine packs them. Prefix caching is on by default because
debate prompts share long prefixes (system prompt, question, earlier rounds)
across agents and rounds. Prompts are rendered with the model's own chat
template and passed as token ids, so no special token is added twice.

With ``SamplingParams.n > 1`` every sample comes back in
``ChatResponse.samples``; with ``SamplingParams.logprobs`` each carries its
tokens' log-probabilities as vLLM reports them (the model's own
distribution, before temperature and top-p, in vLLM's default
``logprobs_mode``), with ``top_logprobs`` alternatives.

``vllm`` is imported only when a ``VLLMBackend`` is constructed: importing
this module (which registers the ``vllm:`` URI scheme) costs nothing, and
without vllm or a GPU construction fails with what to do instead.

The same server-side engine is available out of process with ``vllm serve``
and ``OpenAIBackend``; see docs/vllm.md for when to prefer which.
"""

from __future__ import annotations

import inspect
import time
import uuid
from types import ModuleType
from typing import Any

from debate.agents.backends import register_scheme
from debate.agents.backends._uri import boolean, fraction, parse_params, positive_int, text
from debate.agents.backends.base import BackendError, ChatRequest, ChatResponse, Completion
from debate.agents.backends.per_request import PerRequestBackend

from debate.logprobs import TokenLogprob, token_texts
from debate.messages import SamplingParams, Usage

SERVE_INSTEAD = (
    "or run the model in a separate server with `vllm serve MODEL` and use "
    "OpenAIBackend('http://HOST:8000/v1') / the URI openai://HOST:8000/v1 instead (see docs/vllm.md)"
)


def vllm_sampling(sampling: SamplingParams) -> dict[str, Any]:
    """Our sampling parameters as ``vllm.SamplingParams`` keyword arguments."""
    return {
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "max_tokens": sampling.max_tokens,
        "seed": sampling.seed,
        "stop": list(sampling.stop) or None,
        "n": sampling.n,
        # vLLM returns the chosen token's log-probability plus this many alternatives (0: none), as its server does
        "logprobs": sampling.top_logprobs if sampling.logprobs else None,
    }


def vllm_logprobs(output: Any, tokenizer: Any, top: int) -> list[TokenLogprob] | None:
    """A ``CompletionOutput``'s ``logprobs`` (one ``{token id: Logprob}`` per position) as our tokens.

    Each token's text is what it adds to the decoded text (``token_texts``), so
    the pieces spell the completion; alternatives are vLLM's decoded tokens.
    """
    positions = getattr(output, "logprobs", None)
    if positions is None:
        return None
    token_ids = list(output.token_ids)
    texts = token_texts(tokenizer, token_ids)
    tokens = []
    for step, token_id in enumerate(token_ids[: len(positions)]):
        candidates = positions[step]
        ranked = sorted(candidates.items(), key=lambda item: item[1].rank or 0)
        tokens.append(
            TokenLogprob(
                token=texts[step],
                logprob=candidates[token_id].logprob,
                top_logprobs=[
                    (logprob.decoded_token or "", logprob.logprob)
                    for _, logprob in ranked
                    if logprob.rank is not None and logprob.rank <= top
                ],
            )
        )
    return tokens


def import_vllm() -> ModuleType:
    """The ``vllm`` module, or a ``BackendError`` that says how to get it or what to use instead."""
    try:
        import vllm
    except ImportError as error:
        raise BackendError(
            f"VLLMBackend needs vLLM, which is not importable here ({error}). "
            f"Install it on a Linux machine with a CUDA GPU: pip install 'debate[vllm]'; {SERVE_INSTEAD}"
        ) from None
    return vllm


def require_cuda() -> None:
    import torch

    if not torch.cuda.is_available():
        raise BackendError(f"VLLMBackend needs a CUDA GPU, and torch sees none here; {SERVE_INSTEAD}")


def final_output_only() -> dict[str, Any]:
    """Ask for the final output only: no per-token outputs to build and skip (vLLM < 0.6.2 lacks the option)."""
    try:
        from vllm.sampling_params import RequestOutputKind
    except ImportError:
        return {}
    return {"output_kind": RequestOutputKind.FINAL_ONLY}


class VLLMBackend(PerRequestBackend):
    """A model loaded into this process by vLLM's ``AsyncLLMEngine``.

    ``model`` is a local path or a Hugging Face model id. ``engine_args`` go to
    ``vllm.AsyncEngineArgs`` unchanged (``gpu_memory_utilization``,
    ``max_model_len``, ``max_num_seqs``, ``dtype``, ``enforce_eager``, ...).
    Use the backend from one event loop (one ``asyncio.run``): the engine's
    output handler lives in the loop that first generates.
    """

    def __init__(
        self,
        model: str,
        *,
        tensor_parallel_size: int = 1,
        enable_prefix_caching: bool = True,
        name: str | None = None,
        **engine_args: Any,
    ) -> None:
        vllm = import_vllm()
        require_cuda()
        self.model = model
        self.name = name or f"vllm:{model}"
        self._sampling_class = vllm.SamplingParams
        self._output_kind = final_output_only()
        args = vllm.AsyncEngineArgs(
            model=model,
            tensor_parallel_size=tensor_parallel_size,
            enable_prefix_caching=enable_prefix_caching,
            **engine_args,
        )
        self.engine = vllm.AsyncLLMEngine.from_engine_args(args)
        self._tokenizer: Any = None

    def __repr__(self) -> str:
        return f"VLLMBackend({self.model!r})"

    async def generate_one(self, request: ChatRequest) -> ChatResponse:
        started = time.perf_counter()
        prompt_ids = await self._prompt_ids(request)
        params = self._sampling_class(**vllm_sampling(request.sampling), **self._output_kind)
        final = None
        try:
            async for output in self.engine.generate(
                {"prompt_token_ids": prompt_ids}, params, uuid.uuid4().hex
            ):
                final = output
        except Exception as error:
            raise BackendError(f"{self.name}: generation failed ({type(error).__name__}: {error})") from error
        if final is None or not final.outputs:
            raise BackendError(f"{self.name}: the engine finished the request without output")
        top = request.sampling.top_logprobs
        return ChatResponse.of_completions(
            [
                Completion(
                    text=choice.text,
                    logprobs=vllm_logprobs(choice, self._tokenizer, top)
                    if request.sampling.logprobs
                    else None,
                )
                for choice in sorted(final.outputs, key=lambda choice: getattr(choice, "index", 0))
            ],
            model=self.model,
            usage=Usage(
                prompt_tokens=len(prompt_ids),
                completion_tokens=sum(len(choice.token_ids) for choice in final.outputs),
            ),
            latency_s=time.perf_counter() - started,
        )

    async def _prompt_ids(self, request: ChatRequest) -> list[int]:
        if self._tokenizer is None:
            tokenizer = self.engine.get_tokenizer()
            self._tokenizer = (
                await tokenizer if inspect.isawaitable(tokenizer) else tokenizer
            )  # a coroutine in older vLLMs
        prompt = self._tokenizer.apply_chat_template(
            request.chat(), tokenize=False, add_generation_prompt=True
        )
        return list(self._tokenizer.encode(prompt, add_special_tokens=False))

    def shutdown(self) -> None:
        """Stop the engine and free the GPU (vLLM V1 runs it in a background process)."""
        shutdown = getattr(self.engine, "shutdown", None)
        if shutdown is not None:
            shutdown()


URI_PARAMS = {
    "tensor_parallel_size": positive_int,
    "gpu_memory_utilization": fraction,
    "max_model_len": positive_int,
    "max_num_seqs": positive_int,
    "dtype": text,
    "quantization": text,
    "enable_prefix_caching": boolean,
    "distributed_executor_backend": text,
}
"""Query parameters of ``vllm:`` URIs: the engine arguments that matter most for debates."""


def parse_vllm_uri(uri: str) -> dict[str, Any]:
    """``VLLMBackend`` keyword arguments from ``vllm:MODEL_PATH_OR_ID[?tensor_parallel_size=2&...]``."""
    scheme, _, rest = uri.partition(":")
    if scheme != "vllm":
        raise ValueError(f"backend URI {uri!r}: scheme must be 'vllm'")
    model, _, query = rest.partition("?")
    if not model:
        raise ValueError(f"backend URI {uri!r}: expected vllm:MODEL_PATH_OR_ID[?tensor_parallel_size=N&...]")
    return {"model": model, **parse_params(query, URI_PARAMS, uri)}


register_scheme("vllm", lambda rest: VLLMBackend(**parse_vllm_uri(f"vllm:{rest}")))
