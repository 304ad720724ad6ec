"""OTG-shaped errors: ``{"code": 400, "kind": "validation", "errors": [...]}``, what the
OTG model's ``Error`` object is (snappi raises it as its exception's argument)."""

from __future__ import annotations

from typing import Any


class OtgError(Exception):
    """An OTG request moonpy cannot do as asked; ``errors`` name the field and what to do."""

    def __init__(self, *errors: str, code: int = 400, kind: str = "validation") -> None:
        super().__init__("; ".join(errors))
        self.errors = list(errors)
        self.code = code
        self.kind = kind

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "kind": self.kind, "errors": self.errors}


def unsupported(path: str, what: str = "") -> OtgError:
    """The one error for a field moonpy serve does not implement (never ignored)."""
    tail = f": {what}" if what else ""
    return OtgError(f"{path} is not supported by moonpy serve{tail} (see docs/otg.md)")
