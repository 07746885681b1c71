"""Small causal language models built locally, in the standard Hugging Face format.

No model hub is reachable from a fresh machine or from CI, so everything that
needs a real model (the transformers backend's tests, TRL training tests, the
embedded demo model) starts here: train a byte-level BPE tokenizer on some
text, initialise a small Llama-architecture model, and save both with a chat
template. Transformers, TRL and vLLM all load the result.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

SPECIAL_TOKENS = ["<|pad|>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>"]

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + '<|end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)


def train_tokenizer(texts: Iterable[str], vocab_size: int = 2048, *, digits: bool = False):  # noqa: ANN201
    """A byte-level BPE tokenizer (a ``PreTrainedTokenizerFast``) with our chat special tokens and template.

    ``digits=True`` gives every digit a token of its own, never merged into a
    number: a small model learns column arithmetic far sooner when ``47`` is
    ``4``, ``7`` and not one arbitrary token per number.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.pre_tokenizer = (
        pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
        if digits
        else byte_level
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    wrapped = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token="<|pad|>",
        eos_token="<|end|>",
        bos_token=None,
        unk_token=None,
    )
    wrapped.chat_template = CHAT_TEMPLATE
    wrapped.padding_side = "left"
    return wrapped


def init_model(
    tokenizer,  # noqa: ANN001 - a PreTrainedTokenizerFast from ``train_tokenizer``
    *,
    hidden_size: int = 64,
    layers: int = 2,
    heads: int = 4,
    max_positions: int = 1024,
    seed: int = 0,
):  # noqa: ANN201 - LlamaForCausalLM
    """A randomly initialised Llama model sized for ``tokenizer``, generating until its ``<|end|>`` token.

    Sampling defaults live in the saved generation config, so that plain
    ``model.generate`` (and TRL, and vLLM) stop at the end of an assistant turn.
    """
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 4,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        max_position_embeddings=max_positions,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, do_sample=True
    )
    return model


def save_model(model, tokenizer, out_dir: str | Path) -> Path:  # noqa: ANN001 - HF model and tokenizer
    """Save ``model`` and ``tokenizer`` side by side in ``out_dir``, the layout every HF loader expects."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def build_tiny_model(
    out_dir: str | Path,
    texts: Iterable[str],
    *,
    vocab_size: int = 2048,
    hidden_size: int = 64,
    layers: int = 2,
    heads: int = 4,
    max_positions: int = 1024,
    seed: int = 0,
) -> Path:
    """Train a tokenizer on ``texts``, initialise a small Llama model at random, save both to ``out_dir``.

    Returns ``out_dir``. The defaults give a model of about 0.3M parameters
    that loads in well under a second: enough to exercise real generation,
    batching and training code paths, not to answer anything correctly.
    """
    tokenizer = train_tokenizer(texts, vocab_size=vocab_size)
    model = init_model(
        tokenizer, hidden_size=hidden_size, layers=layers, heads=heads, max_positions=max_positions, seed=seed
    )
    return save_model(model, tokenizer, out_dir)
