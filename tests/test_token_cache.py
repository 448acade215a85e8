"""The token cache of the lookup path: a token in use is checked again in the background before
its entry expires, so that no request waits for the database (which an import can keep busy)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from api.auth import Authenticator, Principal, Unauthorized

HEADER = "Bearer a-token"


class Counting(Authenticator):
    """An authenticator whose database is a counter and a switch (revoked or not)."""

    def __init__(self) -> None:
        super().__init__(lambda: None)  # type: ignore[arg-type, return-value]
        self.loads = 0
        self.revoked = False

    def _load(self, digest: str) -> Principal | None:
        self.loads += 1
        return None if self.revoked else Principal(1, "bench", "api_client", ("341802",))


def _wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the background check did not happen"
        time.sleep(0.01)


def test_a_token_in_use_is_checked_again_in_the_background(monkeypatch: pytest.MonkeyPatch):
    auth = Counting()
    assert auth.principal(HEADER) is not None
    assert auth.loads == 1
    now = time.monotonic()

    monkeypatch.setattr(time, "monotonic", lambda: now + auth.REFRESH_S / 2)
    assert auth.cached(HEADER)[0]                 # young: from the cache, nothing checked
    assert auth.loads == 1

    later = now + auth.REFRESH_S + 0.5
    monkeypatch.setattr(time, "monotonic", lambda: later)
    known, who = auth.cached(HEADER)              # old enough: answered, and checked again
    assert known and who is not None
    _wait_for(lambda: auth.loads == 2 and not auth._refreshing)

    # the renewed entry counts from the check: valid past the first entry's expiry
    monkeypatch.setattr(time, "monotonic", lambda: now + auth.TTL_S + 0.5)
    assert auth.cached(HEADER)[0]


def test_a_revoked_token_fails_once_the_background_check_saw_it(monkeypatch: pytest.MonkeyPatch):
    auth = Counting()
    auth.principal(HEADER)
    now = time.monotonic()
    auth.revoked = True
    monkeypatch.setattr(time, "monotonic", lambda: now + auth.REFRESH_S + 0.5)
    auth.cached(HEADER)                           # still within its TTL: answered
    _wait_for(lambda: auth.loads == 2 and not auth._refreshing)
    with pytest.raises(Unauthorized):
        auth.cached(HEADER)
