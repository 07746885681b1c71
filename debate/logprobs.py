"""Token log-probabilities: how sure a model was of each token it wrote, and a summary per message.

Backends return one ``TokenLogprob`` per generated token when a request asks
for them (``SamplingParams.logprobs``); every backend reports the model's own
distribution, before temperature and top-p, as OpenAI's API does. A transcript
keeps a ``LogprobSummary`` per message (a few numbers, so results files stay
small) and the tokens themselves only when ``SamplingParams.top_logprobs``
asks for alternatives, since that is when a token-level analysis is wanted.

The summary is computed in one place (``summarize_logprobs``) for every
backend, so the same numbers mean the same thing whichever model wrote them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class TokenLogprob(BaseModel):
    """One generated token, its log-probability (natural log), and the alternatives when they were asked for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    token: str
    logprob: float
    top_logprobs: list[tuple[str, float]] = Field(default_factory=list)
    """The most likely tokens at this position with their log-probabilities, most likely first."""
    entropy: float | None = None
    """Entropy (nats) of the whole next-token distribution, where the backend sees it (transformers)."""


class LogprobSummary(BaseModel):
    """How sure the model was of one completion, from its token log-probabilities.

    ``mean_entropy`` is exact where the backend sees the whole distribution
    (transformers) and otherwise a lower bound computed from the top
    alternatives (``entropy_exact`` says which); without alternatives it is
    ``None``. ``answer_logprob`` sums the log-probabilities of the tokens that
    spell the parsed answer where it last appears in the text, so
    ``answer_probability`` is the model's probability of writing that answer
    there; ``None`` when there is no answer or the tokens do not spell it.
    """

    model_config = ConfigDict(extra="forbid")

    tokens: int = Field(ge=1)
    mean_logprob: float
    min_logprob: float
    mean_entropy: float | None = None
    entropy_exact: bool = False
    answer_logprob: float | None = None
    token_logprobs: list[TokenLogprob] | None = None
    """Every token, kept when ``SamplingParams.top_logprobs`` asked for alternatives."""

    @property
    def perplexity(self) -> float:
        return math.exp(-self.mean_logprob)

    @property
    def answer_probability(self) -> float | None:
        return None if self.answer_logprob is None else math.exp(self.answer_logprob)


def token_texts(tokenizer: Any, ids: Sequence[int]) -> list[str]:
    """What each token adds to the decoded text, so that the pieces spell it (special tokens add nothing).

    A token that ends inside a multi-byte character adds nothing until the character is complete.
    """
    pieces, previous = [], ""
    for end in range(1, len(ids) + 1):
        text_ = tokenizer.decode(ids[:end], skip_special_tokens=True)
        if text_.startswith(previous) and not text_.endswith("\ufffd"):
            pieces.append(text_[len(previous) :])
            previous = text_
        else:
            pieces.append("")
    return pieces


def top_entropy(top_logprobs: Sequence[tuple[str, float]]) -> float:
    """``-sum(p log p)`` over the listed alternatives: a lower bound of the distribution's entropy."""
    return -sum(math.exp(logprob) * logprob for _, logprob in top_logprobs if logprob > -math.inf)


def answer_token_span(tokens: Sequence[TokenLogprob], text: str, answer: str) -> range | None:
    """The indices of the tokens that spell ``answer`` where it last appears in ``text``.

    ``None`` when the answer is not in the text, or the tokens up to it do not
    spell the text (a server that cut a stop string off, or bytes split across tokens).
    """
    start = text.rfind(answer) if answer else -1
    if start < 0:
        return None
    end = start + len(answer)
    offsets = [0]
    for token in tokens:
        offsets.append(offsets[-1] + len(token.token))
    if offsets[-1] < end or "".join(token.token for token in tokens)[:end] != text[:end]:
        return None
    first = next(i for i in range(len(tokens)) if offsets[i + 1] > start)
    last = next(i for i in range(len(tokens)) if offsets[i + 1] >= end)
    return range(first, last + 1)


def summarize_logprobs(
    tokens: Sequence[TokenLogprob] | None, *, text: str, answer: str | None, keep_tokens: bool = False
) -> LogprobSummary | None:
    """The summary of one completion's tokens (``None`` when there are none)."""
    if not tokens:
        return None
    logprobs = [token.logprob for token in tokens]
    exact = all(token.entropy is not None for token in tokens)
    if exact:
        entropies: list[float] | None = [token.entropy for token in tokens]  # type: ignore[misc]
    elif all(token.top_logprobs for token in tokens):
        entropies = [top_entropy(token.top_logprobs) for token in tokens]
    else:
        entropies = None
    span = answer_token_span(tokens, text, answer) if answer is not None else None
    return LogprobSummary(
        tokens=len(tokens),
        mean_logprob=sum(logprobs) / len(logprobs),
        min_logprob=min(logprobs),
        mean_entropy=sum(entropies) / len(entropies) if entropies else None,
        entropy_exact=exact,
        answer_logprob=sum(logprobs[i] for i in span) if span is not None else None,
        token_logprobs=list(tokens) if keep_tokens else None,
    )
