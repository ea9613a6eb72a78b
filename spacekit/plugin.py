"""The public API for provider plugins.

A remote plugin writes a ``Provider`` (its API, described without I/O) and
registers ``RemotePlugin(ThatProvider)`` in the entry-point group
``spacekit.providers``. A plugin imports from here and from ``spacekit``, never from
spacekit's private modules.
"""

from ._errors import error_for_status, field_errors
from ._model import parse_datetime
from ._pacing import RateLimiter, parse_retry_after
from ._plugin import (
    IDEMPOTENT,
    ListOperation,
    Operation,
    Plugin,
    Provider,
    Request,
    Requests,
    Response,
    Responses,
    Setting,
    Stated,
    check_json_depth,
    check_settings,
    load_json,
)
from ._redact import redact
from ._remote import AsyncRemoteStore, RemotePlugin, RemoteStore
from ._store import UNSET
from ._validate import check_base_url, check_description, check_id, check_name, quote_id

__all__ = [
    "IDEMPOTENT",
    "UNSET",
    "AsyncRemoteStore",
    "ListOperation",
    "Operation",
    "Plugin",
    "Provider",
    "RateLimiter",
    "RemotePlugin",
    "RemoteStore",
    "Request",
    "Requests",
    "Response",
    "Responses",
    "Setting",
    "Stated",
    "check_base_url",
    "check_description",
    "check_id",
    "check_json_depth",
    "check_name",
    "check_settings",
    "error_for_status",
    "field_errors",
    "load_json",
    "parse_datetime",
    "parse_retry_after",
    "quote_id",
    "redact",
]
