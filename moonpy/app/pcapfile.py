"""pcap files: reading (µs and ns timestamps, either byte order, Ethernet and raw-IP
link types) and writing (µs or ns). Pure Python; no scapy needed at run time.

Raw-IP captures (link types 101, 228 and 229) are replayed as Ethernet frames: an
Ethernet header with the IP version's ethertype is put in front of each packet.
"""

from __future__ import annotations

import struct
import sys
from dataclasses import dataclass
from typing import BinaryIO

from moonpy.errors import ConfigError

MAGIC_US = 0xA1B2C3D4
MAGIC_NS = 0xA1B23C4D
LINK_ETHERNET = 1
LINK_RAW = {101, 228, 229}  # LINKTYPE_RAW, IPV4, IPV6
RAW_ETH_HEADER = bytes.fromhex("020000000002020000000001")


@dataclass
class Record:
    timestamp: float  # seconds
    data: bytes
    orig_len: int


class Truncated(ConfigError):
    """The file ends inside a record."""


def read_pcap(path: str, partial: bool = False, warn: bool = True) -> list[Record]:
    """All records of a pcap file; a clear ConfigError for anything malformed. With
    ``partial`` a file whose last record is cut off (a capture killed mid-write) gives
    its complete records and a warning, as libmoon's reader does; a file with no
    complete record is still an error."""
    records: list[Record] = []
    try:
        with open(path, "rb") as f:
            for r in _records(f, path):
                records.append(r)
        return records
    except Truncated as e:
        if not partial or not records:
            raise ConfigError(str(e)) from None
        if warn:
            print(
                f"[WARN]  {e}: replaying the {len(records)} complete records before it",
                file=sys.stderr,
                flush=True,
            )
        return records
    except FileNotFoundError:
        raise ConfigError(f"pcap file '{path}' does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"'{path}' is a directory, not a pcap file") from None
    except OSError as e:
        raise ConfigError(f"cannot read pcap file '{path}': {e.strerror}") from None


def _records(f: BinaryIO, path: str):
    head = f.read(24)
    if len(head) < 24:
        raise ConfigError(f"'{path}' is not a pcap file: {len(head)} bytes, a header has 24")
    for endian in ("<", ">"):
        magic = struct.unpack(endian + "I", head[:4])[0]
        if magic in (MAGIC_US, MAGIC_NS):
            break
    else:
        raise ConfigError(
            f"'{path}' is not a pcap file (magic {head[:4].hex()}); pcapng is not "
            "supported: convert it with `editcap -F pcap`"
        )
    scale = 1e-9 if magic == MAGIC_NS else 1e-6
    major, minor, _, _, snaplen, link = struct.unpack(endian + "HHiIII", head[4:])
    if major != 2:
        raise ConfigError(f"'{path}': unsupported pcap version {major}.{minor}")
    link &= 0xFFFF
    if link != LINK_ETHERNET and link not in LINK_RAW:
        raise ConfigError(
            f"'{path}': unsupported link type {link}; Ethernet (1) and raw IP "
            "(101, 228, 229) are supported"
        )
    index = 0
    while True:
        rh = f.read(16)
        if not rh:
            return
        if len(rh) < 16:
            raise Truncated(f"'{path}' is truncated in the header of record {index}")
        sec, frac, incl, orig = struct.unpack(endian + "IIII", rh)
        if incl > 262144:
            raise ConfigError(f"'{path}' is corrupt: record {index} claims {incl} bytes")
        data = f.read(incl)
        if len(data) < incl:
            raise Truncated(
                f"'{path}' is truncated in record {index} ({len(data)} of {incl} bytes)"
            )
        if link in LINK_RAW:
            if not data:
                index += 1
                continue
            ethertype = b"\x86\xdd" if data[0] >> 4 == 6 else b"\x08\x00"
            data = RAW_ETH_HEADER + ethertype + data
            orig += 14
        yield Record(sec + frac * scale, data, orig)
        index += 1


class PcapWriter:
    """Write Ethernet frames with timestamps (µs by default, ns on request)."""

    def __init__(self, path: str, snaplen: int = 262144, nanoseconds: bool = False) -> None:
        self.path = path
        self.snaplen = snaplen
        self.ns = nanoseconds
        self.file = open(path, "wb")  # noqa: SIM115 - closed in close()
        self.file.write(
            struct.pack(
                "<IHHiIII",
                MAGIC_NS if nanoseconds else MAGIC_US,
                2,
                4,
                0,
                0,
                snaplen,
                LINK_ETHERNET,
            )
        )
        self.count = 0
        self.bytes = 24

    def write(self, timestamp: float, data: bytes) -> None:
        sec = int(timestamp)
        frac = int(round((timestamp - sec) * (1e9 if self.ns else 1e6)))
        cap = data[: self.snaplen]
        self.file.write(struct.pack("<IIII", sec, frac, len(cap), len(data)))
        self.file.write(cap)
        self.count += 1
        self.bytes += 16 + len(cap)

    def close(self) -> None:
        self.file.close()
