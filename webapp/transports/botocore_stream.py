"""The botocore and urllib3 internals the AgentCore transport reads, behind one adapter.

botocore's ``StreamingBody.read(n)`` blocks until ``n`` bytes arrive, and neither it nor urllib3
exposes the socket a stop must shut down. So the transport reads the urllib3 response under the
body (``StreamingBody._raw_stream``) as each HTTP chunk arrives, and finds its socket through the
attributes urllib3 keeps. Both are read here and nowhere else;
``tests/unit/webapp/test_botocore_stream.py`` checks them against the installed botocore and urllib3
and fails with one clear message when an upgrade moves them (then update the versions below).
"""

from __future__ import annotations

from typing import Any

__all__ = ["TESTED_BOTOCORE_VERSION", "TESTED_URLLIB3_VERSION", "raw_socket", "raw_stream"]

TESTED_BOTOCORE_VERSION = "1.44.8"
"""The botocore release :func:`raw_stream` was checked against."""
TESTED_URLLIB3_VERSION = "2.8.0"
"""The urllib3 release :func:`raw_socket` was checked against."""


def raw_stream(body: Any) -> Any | None:
    """The urllib3 response under a botocore ``StreamingBody``, or ``None`` if there is none."""
    return getattr(body, "_raw_stream", None)


def raw_socket(raw: Any) -> Any | None:
    """The socket under a urllib3 response, found by the attributes urllib3 1.26/2.x keep."""
    connection = getattr(raw, "_connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        return sock
    fp = getattr(raw, "_fp", None)  # http.client.HTTPResponse
    buffered = getattr(fp, "fp", None)  # BufferedReader over SocketIO
    socket_io = getattr(buffered, "raw", None)
    return getattr(socket_io, "_sock", None)
