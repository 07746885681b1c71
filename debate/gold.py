"""Gold answers are read the way answers are: by the scenario's answer parser.

A data file's gold column holds whatever its authors wrote: ``18``, ``B``, or
GSM8K's worked solution ending in ``#### 18``. A debate's final answer is what
the parser made of a model's text (``18``). Compared as text, a worked
solution never equals it, and a run whose models are always right scores 0.
So before a debate starts, the runner reads its item's gold with the same
parser: whatever the parser makes of a model's ``... #### 18`` it makes of the
gold's. Gold read in an explicit format (``FieldMap.gold_format``,
``--gold-format``) is kept as read.

Gold the parser cannot read is kept as written (it can then only match an
answer written exactly the same, so it mostly counts as wrong) and reported:
``debate run`` counts it before any debate starts and records the count in
the manifest, so that a bad gold column shows up as a warning, not as a
silent accuracy of 0.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from debate.answers import AnswerParser, safe_parse
from debate.datasets import FieldMap, Item


class UnreadGold(BaseModel):
    """Gold answers that the answer parser could not read: how many, and the first, with the parser's reason."""

    model_config = ConfigDict(extra="forbid")

    parser: str
    items: int
    first_item: str
    first_gold: str
    reason: str

    def describe(self) -> str:
        shown = self.first_gold if len(self.first_gold) <= 80 else self.first_gold[:77] + "..."
        return (
            f"the {self.parser!r} answer parser cannot read the gold answer of {self.items} item(s), "
            f"first {self.first_item!r}: {shown!r} ({self.reason}); they are scored against the gold "
            "as written, so they will mostly count as wrong. Check --gold-field, or choose --gold-format"
        )


class GoldReader:
    """Reads each item's gold with an answer parser, counting the gold it cannot read.

    ``parser`` is None when the gold was already read in an explicit format:
    items then pass through unchanged.
    """

    def __init__(self, parser: AnswerParser | None) -> None:
        self.parser = parser
        self.unread: UnreadGold | None = None

    @classmethod
    def for_data(cls, parser: AnswerParser, fields: FieldMap | None) -> GoldReader:
        """The reader for a run's data: the scenario's ``parser``, unless ``fields`` name a gold format."""
        explicit = fields is not None and fields.gold_format is not None
        return cls(None if explicit else parser)

    def __call__(self, item: Item) -> Item:
        if self.parser is None or item.gold is None:
            return item
        parsed = safe_parse(self.parser, item.gold)
        if parsed.answer is None:
            self._count_unread(item, parsed.reason or "no answer found")
            return item
        return item if parsed.answer == item.gold else item.model_copy(update={"gold": parsed.answer})

    def _count_unread(self, item: Item, reason: str) -> None:
        if self.unread is None:
            assert self.parser is not None
            self.unread = UnreadGold(
                parser=self.parser.name, items=1, first_item=item.id, first_gold=item.gold or "", reason=reason
            )
        else:
            self.unread.items += 1
