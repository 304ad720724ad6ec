"""A client of another ``moonpy serve`` (the server owning some ports of a configuration):
JSON over HTTP with the standard library; its OTG errors come back as this server's,
naming the server."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any

from moonpy.app.otg.errors import OtgError

TIMEOUT = 30.0
VIA_HEADER = "X-Moonpy-Via"  # the instance of the server that sends the request


class Remote:
    def __init__(self, url: str, via: str = "") -> None:
        self.url = url.rstrip("/")
        self.via = via
        # servers of one test bed use self-signed certificates, as OTG clients assume
        self.ctx = ssl._create_unverified_context() if url.startswith("https") else None

    def call(self, method: str, path: str, body: Any = None, raw: bool = False) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", VIA_HEADER: self.via},
        )
        try:
            with urllib.request.urlopen(req, timeout=TIMEOUT, context=self.ctx) as resp:
                payload = resp.read()
        except urllib.error.HTTPError as e:
            text = e.read()
            try:
                err = json.loads(text)
                errors = [f"moonpy serve at {self.url}: {m}" for m in err.get("errors", [])]
                raise OtgError(*errors, code=int(err.get("code", e.code)),
                               kind=err.get("kind", "internal")) from None  # fmt: skip
            except (ValueError, AttributeError):
                raise OtgError(f"moonpy serve at {self.url}: HTTP {e.code} {text[:200]!r}",
                               code=502, kind="internal") from None  # fmt: skip
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise OtgError(
                f"cannot reach moonpy serve at {self.url} ({reason}); start it there first "
                "(docs/otg.md)", code=502, kind="internal",
            ) from None  # fmt: skip
        return payload if raw else json.loads(payload or b"null")
