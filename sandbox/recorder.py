"""What the emulator served: moto's recorder (/moto-api/recorder/) read back, for the tests
that count the requests a command made (the live commands' account guard) and read what it
asked (the jobs `tfgen accept --jobs` creates: their bodies)."""

from __future__ import annotations

import atexit
import base64
import json
import os
import tempfile
import urllib.parse
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Seen:
    """One request the emulator served: the service and region its signature names, and the
    operation (the X-Amz-Target of a JSON protocol, the Action of a query one, else the path)."""

    service: str
    region: str
    operation: str
    body: str = field(default="", compare=False, repr=False)  # the request's body, as sent

    def __str__(self) -> str:
        return f"{self.service}:{self.operation}"

    @property
    def params(self) -> dict:
        """The request's parameters, for a JSON protocol (SageMaker's CreateTrainingJob...): its body."""
        try:
            parsed = json.loads(self.body or "{}")
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}


def seen(entry: dict) -> Seen:
    """A request moto's recorder wrote down, as Seen."""
    headers = {k.lower(): v for k, v in entry.get("headers", {}).items()}
    scope = headers.get("authorization", "").split("Credential=", 1)[-1].split(",", 1)[0].split("/")
    service, region = (scope[3], scope[2]) if len(scope) >= 5 else ("?", "?")
    body = entry.get("body") or ""
    if entry.get("body_encoded"):
        body = base64.b64decode(body).decode(errors="replace")
    if "x-amz-target" in headers:
        operation = headers["x-amz-target"].rsplit(".", 1)[-1]
    elif action := urllib.parse.parse_qs(body).get("Action"):
        operation = action[0]
    else:
        operation = f"{entry.get('method')} {urllib.parse.urlsplit(entry.get('url', '')).path}"
    return Seen(service, region, operation, body)


def record_outside_the_checkout() -> None:
    """moto's recorder (Emulator.recording) writes to MOTO_RECORDER_FILEPATH, read once when
    moto is imported, by default ./moto_recording in the working directory: a file of this
    process's own in the temporary folder instead."""
    from moto.moto_api import recorder

    handle, path = tempfile.mkstemp(prefix="tfgen-moto-recording-")
    os.close(handle)
    recorder._location = path
    atexit.register(lambda: os.path.exists(path) and os.unlink(path))
