"""What crosses between task VMs: task arguments and return values.

A VM packs each value into a small descriptor table (`moonpy/lua/moonpy/marshal.lua`);
Python turns descriptors into the pyserde dataclasses below, keeps them while the
task starts (or until `task:wait()`), and hands them to the receiving VM as plain
dicts, which it unpacks back into the same kind of Lua object: a device is
`device.get(id)` again, a queue the same queue, a mempool/pipe/barrier/lock the
same C object (all VMs share one process), a table a deep copy.

All values of one message (a task's arguments, its results, one pipe message) are
packed together, as libmoon's one serialized dump: a table met again is a `Ref` to the
first, so tables shared between arguments stay shared and cycles survive. Other FFI
cdata crosses as a `Pointer` into the sender's memory (tasks share the address space,
as in libmoon). Functions, coroutines and userdata arrive as nil (libmoon's serializer
writes functions as nil); `marshal.lua` warns once where that happens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from serde import field, from_dict, serde, to_dict


@serde
@dataclass
class Nil:
    pass


@serde
@dataclass
class Bool:
    value: bool


@serde
@dataclass
class Num:
    value: float


@serde
@dataclass
class Int64:
    """A 64-bit integer cdata (``5ULL``, ``mg.getCycles()``), kept exact."""

    value: int
    signed: bool = False


@serde
@dataclass
class Str:
    value: str


@serde
@dataclass
class Device:
    id: int


@serde
@dataclass
class TxQueue:
    port: int
    queue: int


@serde
@dataclass
class RxQueue:
    port: int
    queue: int


@serde
@dataclass
class Pointer:
    """C memory shared by address: a mempool, ring, barrier, lock, or any cdata (a
    struct value arrives as a pointer to it)."""

    ctype: str
    address: int


@serde
@dataclass
class Ref:
    """The table with this id, packed earlier in the same message."""

    id: int


@serde
@dataclass
class Code:
    """What a table's ``__serialize`` metamethod returned as code: run in the receiving VM."""

    value: str


@dataclass
class Custom:
    """An object that packs itself (``__moonpy_pack``): rebuilt by
    ``require(module)[constructor](data)`` in the receiving VM."""

    module: str
    constructor: str
    data: Value


@dataclass
class Table:
    """A plain Lua table: array part (holes as Nil) and hash part; ``id`` names it for
    the ``Ref``s later in the same message."""

    array: list[Value] = field(default_factory=list)
    hash: list[tuple[Value, Value]] = field(default_factory=list)
    id: int = 0


Value = Union[  # noqa: UP007
    Nil, Bool, Num, Int64, Str, Device, TxQueue, RxQueue, Pointer, Ref, Code, Custom, Table
]

# the two recursive classes get their pyserde code once `Value` exists
serde(Custom)
serde(Table)

_KINDS: dict[str, type] = {
    "nil": Nil,
    "bool": Bool,
    "num": Num,
    "int64": Int64,
    "str": Str,
    "device": Device,
    "txq": TxQueue,
    "rxq": RxQueue,
    "ptr": Pointer,
    "ref": Ref,
    "code": Code,
    "custom": Custom,
    "table": Table,
}
_NAMES = {v: k for k, v in _KINDS.items()}


def from_descriptor(desc: Any) -> Value:
    """Lua descriptor table (a lupa LuaTable or dict) → dataclass."""
    get = desc.__getitem__
    kind = get("k")
    if kind == "nil":
        return Nil()
    if kind == "bool":
        return Bool(bool(get("v")))
    if kind == "num":
        return Num(float(get("v")))
    if kind == "int64":
        return Int64(int(get("v")), bool(get("signed")))
    if kind == "str":
        v = get("v")
        return Str(v.decode("utf-8", "surrogateescape") if isinstance(v, bytes) else str(v))
    if kind == "device":
        return Device(int(get("id")))
    if kind == "txq":
        return TxQueue(int(get("port")), int(get("queue")))
    if kind == "rxq":
        return RxQueue(int(get("port")), int(get("queue")))
    if kind == "ptr":
        return Pointer(_text(get("ctype")), int(get("addr")))
    if kind == "ref":
        return Ref(int(get("id")))
    if kind == "code":
        return Code(_text(get("v")))
    if kind == "custom":
        return Custom(_text(get("module")), _text(get("ctor")), from_descriptor(get("data")))
    if kind == "table":
        arr = get("a")
        hsh = get("h")
        n = int(get("n") or 0)
        array = [from_descriptor(arr[i]) for i in range(1, n + 1)]
        pairs = []
        m = int(get("m") or 0)
        for i in range(1, m + 1):
            entry = hsh[i]
            pairs.append((from_descriptor(entry[1]), from_descriptor(entry[2])))
        return Table(array, pairs, int(get("id") or 0))
    raise ValueError(f"unknown value kind {kind!r} in a task argument")


def to_descriptor(value: Value) -> dict:
    """Dataclass → plain nested dict/list structure the receiving VM unpacks."""
    kind = _NAMES[type(value)]
    if isinstance(value, Table):
        return {
            "k": "table",
            "n": len(value.array),
            "a": [to_descriptor(v) for v in value.array],
            "m": len(value.hash),
            "h": [[to_descriptor(k), to_descriptor(v)] for k, v in value.hash],
            "id": value.id,
        }
    if isinstance(value, Ref):
        return {"k": "ref", "id": value.id}
    if isinstance(value, Custom):
        return {
            "k": "custom",
            "module": value.module,
            "ctor": value.constructor,
            "data": to_descriptor(value.data),
        }
    if isinstance(value, Pointer):
        return {"k": "ptr", "ctype": value.ctype, "addr": value.address}
    if isinstance(value, Int64):
        return {"k": "int64", "v": str(value.value), "signed": value.signed}
    out: dict[str, Any] = {"k": kind}
    out.update(to_dict(value))
    if "value" in out:
        out["v"] = out.pop("value")
    return out


@serde
@dataclass
class Message:
    """Arguments or return values of one task, in order (holes kept)."""

    values: list[Value] = field(default_factory=list)


def pack_message(descriptors: Any, count: int) -> Message:
    return Message([from_descriptor(descriptors[i]) for i in range(1, count + 1)])


def message_roundtrip(msg: Message) -> Message:
    """Through pyserde's dict form and back: what crosses is data, not objects."""
    return from_dict(Message, to_dict(msg))


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)
