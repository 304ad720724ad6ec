"""Misusing the API (a port that does not exist) is one clear line with file:line."""

from moonpy import device


def master() -> None:
    device.config(port=9, tx_queues=1)
