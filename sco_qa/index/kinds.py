"""The two kinds of vectors an index keeps, by id: passages and sentences."""

from __future__ import annotations

from typing import Literal

Kind = Literal["passages", "sentences"]
KINDS: tuple[Kind, ...] = ("passages", "sentences")
