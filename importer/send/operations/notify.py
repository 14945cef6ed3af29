"""Notify (`--notify-url`): POST a run's JSON summary to a webhook, best effort.

Not a CarrierX request, but a request all the same, so it runs on the executor with the
one retry policy: one item (the body, already redacted), `POST <url>` with no
`Authorization` header (the client is the webhook's own, never the API's). Reads the
answer with `read_answer`, plus 425 Too Early as retryable; a webhook POST sets no
state we could read back, so an unknown outcome is simply sent again. Nothing here
raises: the `Reading` it ends with says what happened.
"""

from __future__ import annotations

import httpx

from importer.send.operation import AnsweredOnce
from importer.send.reading import Kind, Reading, Request, read_answer
from importer.send.steps import Steps

__all__ = ["Notify", "read_webhook"]


def read_webhook(response: httpx.Response, request: Request) -> Reading:
    """`read_answer`, plus 425 Too Early: retried."""
    reading = read_answer(response, request)
    if reading.status == 425:
        return reading.but(Kind.RETRY)
    return reading


class Notify(AnsweredOnce):
    """The notify operation (see the module doc)."""

    name = "notify"

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url = url
        self.headers = headers

    async def settle(self, item: bytes, steps: Steps) -> Reading:
        """POST the body until it is delivered, refused, or out of attempts."""
        request = Request(
            method="POST", path=self.url, content=item, headers=self.headers, what="notify"
        )
        return await steps.send(request, read_webhook)
