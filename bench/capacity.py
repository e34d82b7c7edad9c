"""DynamoDB item sizes and capacity units, by DynamoDB's published rules (moto reports placeholders).

Item size: the sum, over attributes, of the UTF-8 length of the name plus the size of the value
(string: UTF-8 bytes; number: 1 byte per two significant digits plus 1; binary: bytes; boolean and
null: 1; list and map: 3 bytes plus each element, plus 1 byte per element, plus a map element's
name). Reads: one unit per 4 KB, strongly consistent; half for eventually consistent; a Query sums
the items it read before rounding; a read that finds nothing still costs the minimum. Writes: one
unit per 1 KB of the larger of the item before and after. Transactions: twice the units.
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

READ_UNIT_BYTES = 4096
WRITE_UNIT_BYTES = 1024

Item = Mapping[str, Any]  # DynamoDB JSON: {"name": {"S": "…"}}


def item_size(item: Item | None) -> int:
    if not item:
        return 0
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: Mapping[str, Any]) -> int:
    ((kind, raw),) = value.items()
    return _SIZES[kind](raw)


def _binary_size(raw: Any) -> int:
    # botocore sends binary values base64-encoded in the JSON body
    return len(raw) if isinstance(raw, bytes | bytearray) else len(str(raw)) * 3 // 4


_SIZES: dict[str, Callable[[Any], int]] = {
    "S": lambda raw: len(str(raw).encode()),
    "N": lambda raw: _number_size(str(raw)),
    "B": _binary_size,
    "BOOL": lambda _: 1,
    "NULL": lambda _: 1,
    "L": lambda raw: 3 + sum(_value_size(v) + 1 for v in raw),
    "M": lambda raw: 3 + sum(len(k.encode()) + _value_size(v) + 1 for k, v in raw.items()),
    "SS": lambda raw: sum(len(str(v).encode()) for v in raw),
    "NS": lambda raw: sum(_number_size(str(v)) for v in raw),
    "BS": lambda raw: sum(_binary_size(v) for v in raw),
}


def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").split("e")[0].split("E")[0].strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def read_units(sizes: Iterable[int], *, consistent: bool, transactional: bool = False) -> float:
    """One GetItem (one size) or one Query (its items' sizes, summed then rounded)."""
    units = max(1, math.ceil(sum(sizes) / READ_UNIT_BYTES))
    if transactional:
        return 2.0 * units
    return float(units) if consistent else units / 2


def write_units(before: Item | None, after: Item | None, *, transactional: bool = False) -> int:
    units = max(1, math.ceil(max(item_size(before), item_size(after)) / WRITE_UNIT_BYTES))
    return 2 * units if transactional else units
