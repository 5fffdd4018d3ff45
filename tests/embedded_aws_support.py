"""The tests' embedded AWS: one moto server in the test process for the session."""

from __future__ import annotations

import requests


class EmbeddedAws:
    """The session's embedded AWS (moto, in this process), and how many times it was emptied whole."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.resets = 0

    def reset(self) -> None:
        requests.post(f"{self.endpoint}/moto-api/reset", timeout=10).raise_for_status()
        self.resets += 1
