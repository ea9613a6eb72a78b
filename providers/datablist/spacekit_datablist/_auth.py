"""Datablist credentials: a personal API key exchanged for a short-lived access token.

Datablist authenticates data requests with ``Authorization: Bearer <JWT>``. The JWT
comes from ``POST {auth_url}/token`` with ``{"apiKey": ...}``; the answer says how
long it lasts (``expires_in`` seconds, ``expires_at`` a moment). The docs disagree
on the lifetime (24 h in the text, 48 h in the example), so only the answer is
trusted.

``TokenCache`` keeps the token in memory only, says when it must be renewed (a
margin before it expires), and forgets it after a 401. It also keeps the
``user_id`` the exchange names: the owner of the workspaces this caller creates. It does no I/O and takes no
lock: the HTTP engine runs one exchange at a time, under its own lock, and its
generation counter stops the tasks that waited from renewing again.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

from spacekit import ProtocolError
from spacekit.plugin import Request, Response, load_json, parse_datetime

log = logging.getLogger("spacekit.datablist")

JSON_HEADERS: Mapping[str, str] = {"Accept": "application/json", "Content-Type": "application/json"}
#: renew this long before the token expires (a tenth of its life for short-lived tokens)
RENEWAL_MARGIN = 60.0
_MILLISECONDS = 1e11  # an epoch value above this is in milliseconds


def _clock() -> float:
    """Seconds on a clock that never jumps; tests replace it to move time on."""
    return time.monotonic()


class TokenCache:
    """The access token of one store: a fixed one, or one renewed from the API key."""

    def __init__(self, *, api_key: str | None, access_token: str | None, auth_url: str) -> None:
        self._api_key = api_key
        self._token = access_token
        self._renew_at = math.inf
        # recent tokens, so that one replaced a moment ago is still scrubbed from errors
        self._issued: deque[str] = deque([access_token] if access_token else [], maxlen=4)
        self.token_url = f"{auth_url}/token"
        #: the user the exchange said the token acts for (``user_id``); None until then
        self.user_id: str | None = None
        #: the account the exchange named (``account_id``), None until it names one
        self.account_id: str | None = None

    def __repr__(self) -> str:
        held = "held" if self._token else "none"
        return f"<TokenCache renewable={self.renewable} token={held}>"

    @property
    def renewable(self) -> bool:
        """True when an API key can obtain a new token."""
        return self._api_key is not None

    @property
    def held(self) -> bool:
        return self._token is not None

    def header(self) -> dict[str, str]:
        token = self._token
        return {"Authorization": f"Bearer {token}"} if token else {}

    def needs_renewal(self) -> bool:
        return self.renewable and (self._token is None or _clock() >= self._renew_at)

    def forget(self) -> bool:
        """Drop the token after a 401; True if the API key can fetch another."""
        if not self.renewable:
            return False
        self._token = None
        return True

    def exchange_request(self) -> Request:
        # A second exchange only issues another token: safe to repeat after a failure.
        return Request(
            "POST",
            self.token_url,
            json={"apiKey": self._api_key},
            headers=JSON_HEADERS,
            authenticated=False,
            retry_safe=True,
        )

    def accept(self, response: Response) -> None:
        """Keep the token from the exchange's answer and plan its renewal."""
        data = _token_answer(response)
        token = data["access_token"]
        lifetime = token_lifetime(data)
        self._token = token
        self._issued.append(token)
        self.user_id = identifier(data.get("user_id")) or self.user_id
        self.account_id = identifier(data.get("account_id")) or self.account_id
        if lifetime is None or lifetime <= 0:
            self._renew_at = math.inf  # unknown: renewed after a 401 only
        else:
            self._renew_at = _clock() + lifetime - min(RENEWAL_MARGIN, lifetime / 10)
        log.debug("obtained a Datablist access token valid for %s s", lifetime)

    def secrets(self) -> list[str]:
        values = [self._api_key, self._token, *self._issued]
        return [v for v in values if v]


def _token_answer(response: Response) -> dict[str, Any]:
    # Not Response.json(): its errors carry the body, which may hold half a token.
    try:
        data = load_json(response.content)
    except ValueError:
        data = None
    if isinstance(data, dict) and isinstance(data.get("access_token"), str) and data["access_token"].strip():
        return data
    raise ProtocolError(
        "the Datablist token exchange answered without a readable access_token",
        provider="datablist",
        status=response.status,
    )


def identifier(value: object) -> str | None:
    """An id as the exchange's answer names one (a non-empty string or an integer),
    else None: a value of another shape is not trusted to name anything."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    text = str(value)
    return text if text.strip() else None


def token_lifetime(data: Mapping[str, Any]) -> float | None:
    """Seconds the token lasts from now: ``expires_in``, else ``expires_at``, else None."""
    expires_in = _number(data.get("expires_in"))
    if expires_in is not None:
        return expires_in
    expires_at = data.get("expires_at")
    moment = _number(expires_at)
    if moment is None and isinstance(expires_at, str):
        try:
            when = parse_datetime(expires_at)
        except ValueError:
            when = None
        moment = when.timestamp() if when else None
    if moment is None:
        return None
    if moment > _MILLISECONDS:
        moment /= 1000
    return moment - time.time()


def _number(value: object) -> float | None:
    """A finite number, from a JSON number or a numeric string; anything else is None."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
