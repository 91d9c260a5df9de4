"""Where ``goheap analyze`` gets a heap profile: a file, ``-`` (standard input), or a URL.

A URL is a running Go program's ``net/http/pprof`` endpoint
(``http://host:port/debug/pprof/heap``), fetched as ``go tool pprof``
fetches one (``fetchURL``/``adjustURL`` in pprof's ``internal/driver/fetch.go``):
the URL is used as given (``?seconds=N``, ``?gc=1``, ``?debug=1`` pass
through untouched), the timeout is pprof's HTTP client's: 60 s, or 1.5
times the URL's ``seconds`` when it has one, plus 5 s; and a status other than 200 is an error that
carries the server's message when the pprof handler wrote one (it marks
its errors with an ``X-Go-Pprof`` header). Loopback hosts are fetched
directly, never through an ``http_proxy``, as Go's ``ProxyFromEnvironment``
does. The bytes then go to :func:`~goheap.pprof.reader.parse_heap_profile`
whatever they are, so a page that is not a profile is one error line too.
"""

from __future__ import annotations

import ipaddress
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import BinaryIO

from goheap.pprof.model import HeapProfile
from goheap.pprof.reader import (
    MAX_PROFILE_BYTES,
    ProfileError,
    one_line,
    parse_heap_profile,
    read_heap_profile,
)

#: The name of standard input, as a PROFILE argument and in messages.
STDIN = "-"
#: go tool pprof's timeout for a profile without ``seconds`` (adjustURL).
DEFAULT_TIMEOUT = 60.0
#: What pprof's HTTP client adds to that timeout (fetchURL).
GRACE = 5.0
_CHUNK = 1 << 20


def is_url(source: str) -> bool:
    """Whether source names an http:// or https:// URL (the scheme in any case)."""
    return source[:8].lower().startswith(("http://", "https://"))


def read_profile_source(source: str, timeout: float | None = None) -> HeapProfile:
    """The heap profile at source: a path, ``-`` for standard input, or an http(s) URL.

    ``timeout`` (seconds) bounds a URL's whole fetch; None takes pprof's
    default (:func:`url_timeout`). Faults are one-line ProfileErrors.
    """
    if source == STDIN:
        return parse_heap_profile(read_stream(sys.stdin.buffer, "<stdin>"), "<stdin>")
    if is_url(source):
        return parse_heap_profile(fetch_url(source, timeout), source)
    return read_heap_profile(source)


def read_stream(stream: BinaryIO, name: str) -> bytes:
    """All of stream (at most MAX_PROFILE_BYTES + 1 bytes: the parser refuses more)."""
    try:
        return stream.read(MAX_PROFILE_BYTES + 1)
    except OSError as e:
        raise ProfileError(f"{name}: cannot read it ({e.strerror or e})") from None


def url_timeout(url: str) -> float:
    """go tool pprof's for url: 1.5 x its ``seconds=N`` if it has one, else 60 s; plus 5 s."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    try:
        seconds = int(query.get("seconds", [""])[0])
    except ValueError:
        seconds = 0
    return (seconds * 1.5 if seconds > 0 else DEFAULT_TIMEOUT) + GRACE


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _opener(host: str) -> urllib.request.OpenerDirector:
    """An opener that ignores proxies for a loopback host (as Go's ProxyFromEnvironment)."""
    if _loopback(host):
        return urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener()


def _status_error(url: str, e: urllib.error.HTTPError) -> ProfileError:
    """pprof's statusCodeError: the status, and the pprof handler's own message if any."""
    msg = f"{url}: server response: {e.code} {e.reason}"
    headers = e.headers
    if (
        headers is not None
        and headers.get("X-Go-Pprof")
        and "text/plain" in (headers.get("Content-Type") or "")
    ):
        try:
            body = e.read(4096).decode("utf-8", errors="replace").strip()
        except OSError:
            body = ""
        if body:
            msg += f" - {one_line(body, 160)}"
    return ProfileError(msg)


def fetch_url(url: str, timeout: float | None = None) -> bytes:
    """The body of a GET of url (timeout None: :func:`url_timeout`).

    The timeout bounds connecting and every read, and the whole body is
    given up once it has passed since the request began.
    """
    shown = one_line(url)
    try:
        host = urllib.parse.urlsplit(url).hostname
    except ValueError as e:
        raise ProfileError(f"{shown}: not a valid URL ({one_line(str(e))})") from None
    if not host:
        raise ProfileError(f"{shown}: not a valid URL (no host)")
    limit = url_timeout(url) if timeout is None else timeout
    deadline = time.monotonic() + limit
    late = ProfileError(f"{shown}: no complete answer within {limit:g} s (--timeout)")
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "goheap"})
        with _opener(host).open(request, timeout=limit) as response:
            chunks: list[bytes] = []
            total = 0
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise late
                chunk = response.read1(_CHUNK)  # one recv, each within the timeout
                if not chunk:
                    break
                total += len(chunk)
                chunks.append(chunk)
                if total > MAX_PROFILE_BYTES:
                    break  # the parser says it is too large
            return b"".join(chunks)
    except ProfileError:
        raise
    except urllib.error.HTTPError as e:
        raise _status_error(shown, e) from None
    except urllib.error.URLError as e:
        if isinstance(e.reason, TimeoutError):
            raise late from None
        reason = e.reason.strerror if isinstance(e.reason, OSError) else e.reason
        raise ProfileError(f"{shown}: cannot fetch it ({one_line(str(reason or e))})") from None
    except TimeoutError:
        raise late from None
    except (OSError, ValueError) as e:  # a reset connection, a malformed URL or answer
        what = getattr(e, "strerror", None) or str(e) or type(e).__name__
        raise ProfileError(f"{shown}: cannot fetch it ({one_line(what)})") from None
    except Exception as e:  # http.client.HTTPException: a broken answer
        raise ProfileError(
            f"{shown}: cannot fetch it ({type(e).__name__}: {one_line(str(e))})"
        ) from None
