"""Prompt templates as data, and the rule for quoting untrusted debater text.

Templates live in ``agents/prompts/*.toml`` (``common.toml`` plus one file per
protocol) under dotted keys such as ``"debater.later_round"``. A scenario's
``prompts`` and an agent's ``prompts`` override them key by key, so a user
changes a prompt without subclassing anything.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from typing import Any


@cache
def _load_file(name: str) -> dict[str, str]:
    resource = resources.files("debate.agents.prompts").joinpath(f"{name}.toml")
    if not resource.is_file():
        return {}
    data = tomllib.loads(resource.read_text(encoding="utf-8"))
    return {f"{section}.{key}": value for section, table in data.items() for key, value in table.items()}


def load_templates(protocol: str, *overrides: Mapping[str, str]) -> dict[str, str]:
    """Templates for ``protocol``: common ones, the protocol's own, then each override in order."""
    templates = dict(_load_file("common"))
    templates.update(_load_file(protocol))
    for override in overrides:
        templates.update(override)
    return templates


def render(templates: Mapping[str, str], key: str, **values: Any) -> str:
    """Fill template ``key``; a missing template or placeholder names itself in the error."""
    try:
        template = templates[key]
    except KeyError:
        raise KeyError(f"no prompt template {key!r}; available: {sorted(templates)}") from None
    try:
        return template.format_map(values)
    except KeyError as error:
        raise KeyError(
            f"prompt template {key!r} uses placeholder {error.args[0]!r}; available: {sorted(values)}"
        ) from None


def context_block(context: Mapping[str, str], shown: Callable[[str], bool]) -> str:
    """The ``{context}`` placeholder: each field that ``shown`` lets through, titled, in order.

    One layout for debaters and for the prompts of exported training data, so a
    trained model reads its context exactly as it did in the debate.
    """
    return "".join(
        f"{field.replace('_', ' ').capitalize()}:\n{value}\n\n"
        for field, value in context.items()
        if shown(field)
    )


_TAG = re.compile(r"<\s*(/?)\s*(response|system|verdict|instructions?)\b", re.IGNORECASE)
_CONTROL_TOKEN = re.compile(r"<\|[^|<>\n]{1,40}\|>|</?s>|\[/?INST\]")


def neutralize_tags(text: str) -> str:
    """Defang tags that could close our quoting or pose as instructions.

    ``<response>``, ``</response>``, ``<system>``, ``<verdict>`` and
    ``<instructions>`` inside untrusted text lose their ``<`` (it becomes ``‹``),
    so debater text can never end its own quotation early. Chat-template control
    tokens (``<|im_start|>``, ``</s>``, ``[INST]``) lose their first character too:
    a local model's tokenizer could read them as real turn boundaries.

    Lookalikes count: ``＜／ｒｅｓｐｏｎｓｅ＞`` in full-width letters reads the
    same to a model, and tokenizers that apply NFKC normalization turn it into
    ``</response>``. Tags are therefore found in the NFKC form of the text, and
    defanged in the original, which is otherwise left as it was.
    """
    if text.isascii():
        return _defang(text, text, None)
    folded, origin = _nfkc_with_origin(text)
    return _defang(text, folded, origin)


def _nfkc_with_origin(text: str) -> tuple[str, list[int]]:
    """``text`` in NFKC form, character by character, and for each folded character the index it came from."""
    folded: list[str] = []
    origin: list[int] = []
    for index, character in enumerate(text):
        normal = character if character.isascii() else unicodedata.normalize("NFKC", character)
        folded.append(normal)
        origin.extend([index] * len(normal))
    return "".join(folded), origin


def _defang(text: str, folded: str, origin: list[int] | None) -> str:
    """``text`` with the first character of every tag or control token found in ``folded`` replaced by ``‹``.

    ``origin`` maps positions in ``folded`` to positions in ``text`` (``None``: they are the same).
    """
    found = [match.start() for pattern in (_CONTROL_TOKEN, _TAG) for match in pattern.finditer(folded)]
    starts = set(found) if origin is None else {origin[position] for position in found}
    if not starts:
        return text
    return "".join("‹" if index in starts else character for index, character in enumerate(text))


def quote_untrusted(text: str, **attributes: str) -> str:
    """Wrap untrusted model text in ``<response ...>`` tags that it cannot break out of."""
    attrs = "".join(
        f' {key}="{neutralize_tags(str(value)).replace(chr(34), chr(39))}"'
        for key, value in attributes.items()
    )
    return f"<response{attrs}>\n{neutralize_tags(text)}\n</response>"
