"""gnomAD files on a web server or in a public bucket: https:// (or http://) URLs, and
s3:// and gs:// locations mapped to their public https endpoints.

htslib (through pysam) reads the data files with HTTP range requests, so only the bytes a
lookup needs cross the network. varidex's own requests are few: a HEAD per file it looks
for (the release's file names; nothing is listed), the first and last bytes of each data
file (bgzip and end-of-file checks), and each index once, into a local cache keyed by the
index's URL, size and ETag. Every failure, dropped connection included, is a
:class:`~varidex.gnomad.errors.RemoteFileError` naming the URL, never "absent".

Timeouts and retries, for varidex's requests and htslib's alike, come from htslib's
environment variables (set here unless already set): ``HTS_RETRY_MAX`` retries (4),
``HTS_RETRY_DELAY`` ms before the first retry, doubling (500), ``HTS_RETRY_MAX_DELAY``
(8000), and a transfer slower than ``HTS_LOW_SPEED_LIMIT`` bytes/s (1) for
``HTS_LOW_SPEED_TIME`` s (30) is dropped and retried.
"""

from __future__ import annotations

import hashlib
import os
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import urllib3
from urllib3.exceptions import HTTPError
from urllib3.util import Retry, Timeout

from .errors import RemoteFileError

#: Location prefixes read over the network.
SCHEMES: Final = ("https://", "http://", "s3://", "gs://")

#: Public endpoints of the bucket schemes; ``VARIDEX_S3_ENDPOINT`` and
#: ``VARIDEX_GS_ENDPOINT`` replace them (then URLs are path-style: ENDPOINT/bucket/key).
S3_ENDPOINT: Final = "https://{bucket}.s3.amazonaws.com"
GS_ENDPOINT: Final = "https://storage.googleapis.com/{bucket}"

#: htslib's network settings, set in this process unless the environment has them.
HTSLIB_SETTINGS: Final = {
    "HTS_RETRY_MAX": "4",
    "HTS_RETRY_DELAY": "500",
    "HTS_RETRY_MAX_DELAY": "8000",
    "HTS_LOW_SPEED_LIMIT": "1",
    "HTS_LOW_SPEED_TIME": "30",
}
CONNECT_TIMEOUT: Final = 10.0  # seconds, for varidex's own requests

_INDEX_MAGIC: Final = {".tbi": b"TBI\x01", ".csi": b"CSI\x01"}


def is_remote(location: object) -> bool:
    """True for an https://, http://, s3:// or gs:// location.

    >>> is_remote("s3://gnomad-public-us-east-1/release/"), is_remote("gnomad/")
    (True, False)
    """
    return isinstance(location, str) and location.lower().startswith(SCHEMES)


def https_url(location: str) -> str:
    """The https (or http) URL varidex and htslib read for a location.

    >>> https_url("s3://gnomad-public-us-east-1/release/4.1/vcf/exomes/")
    'https://gnomad-public-us-east-1.s3.amazonaws.com/release/4.1/vcf/exomes/'
    >>> https_url("gs://gcp-public-data--gnomad/release/2.1.1/vcf/exomes/")
    'https://storage.googleapis.com/gcp-public-data--gnomad/release/2.1.1/vcf/exomes/'
    """
    scheme, _, rest = location.partition("://")
    scheme = scheme.lower()
    if scheme in ("http", "https"):
        return f"{scheme}://{rest}"
    bucket, _, key = rest.partition("/")
    if not bucket:
        msg = f"{location}: no bucket name after {scheme}://"
        raise RemoteFileError(msg)
    override = os.environ.get(f"VARIDEX_{scheme.upper()}_ENDPOINT")
    if override:
        return f"{override.rstrip('/')}/{bucket}/{key}"
    template = S3_ENDPOINT if scheme == "s3" else GS_ENDPOINT
    return f"{template.format(bucket=bucket)}/{key}"


def index_cache_dir() -> Path:
    """Where downloaded indexes are kept: ``$VARIDEX_CACHE_DIR/indexes``, else
    ``$XDG_CACHE_HOME/varidex/indexes``, else ``~/.cache/varidex/indexes``."""
    root = os.environ.get("VARIDEX_CACHE_DIR")
    if root:
        return Path(root).expanduser() / "indexes"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "varidex" / "indexes"


def configure_htslib() -> None:
    """Give htslib varidex's timeouts and retries (it reads them at each open)."""
    for key, value in HTSLIB_SETTINGS.items():
        os.environ.setdefault(key, value)


def _setting(key: str) -> int:
    raw = os.environ.get(key, HTSLIB_SETTINGS[key])
    try:
        return max(0, int(raw))
    except ValueError:
        msg = f"environment variable {key}={raw!r}: expected a whole number"
        raise RemoteFileError(msg) from None


_POOLS: dict[tuple[int, ...], urllib3.PoolManager] = {}
_POOL_LOCK = threading.Lock()


def _pool() -> urllib3.PoolManager:
    """A connection pool per process (never shared across a fork) and per settings."""
    retries, delay, max_delay, stall = (_setting(k) for k in (
        "HTS_RETRY_MAX", "HTS_RETRY_DELAY", "HTS_RETRY_MAX_DELAY", "HTS_LOW_SPEED_TIME"))
    key = (os.getpid(), retries, delay, max_delay, stall)
    with _POOL_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            retry = Retry(total=retries, connect=retries, read=retries, status=retries,
                          other=retries, backoff_factor=delay / 1000,
                          backoff_max=max_delay / 1000,
                          status_forcelist=(429, 500, 502, 503, 504),
                          allowed_methods=frozenset({"HEAD", "GET"}), raise_on_status=False)
            timeout = Timeout(connect=CONNECT_TIMEOUT, read=float(stall or 30))
            pool = _POOLS[key] = urllib3.PoolManager(
                retries=retry, timeout=timeout, maxsize=16,
                headers={"User-Agent": _user_agent()})
    return pool


def _user_agent() -> str:
    from varidex import __version__

    return f"varidex/{__version__}"


def _request(method: str, url: str, what: str,
             headers: dict[str, str] | None = None) -> urllib3.BaseHTTPResponse:
    try:
        return _pool().request(method, url, headers=headers, preload_content=True)
    except HTTPError as exc:
        reason = getattr(exc, "reason", None) or exc
        msg = (f"{url}: {what} failed after {_setting('HTS_RETRY_MAX')} retries ({reason}); "
               "the connection was refused, dropped or timed out. Check the network and the "
               "URL, then run again")
        raise RemoteFileError(msg) from exc


def _status_error(url: str, status: int, what: str) -> RemoteFileError:
    if status in (401, 403):
        hint = ("access denied: varidex reads public files anonymously; check the URL, or "
                "download the files")
    else:
        hint = "the server answered with an error; check the URL, or try again later"
    return RemoteFileError(f"{url}: {what}: HTTP {status}, {hint}")


@dataclass(frozen=True)
class RemoteObject:
    """A file on a server: its URL, size in bytes and version tag (ETag or Last-Modified)."""

    url: str
    size: int
    tag: str


def stat(url: str) -> RemoteObject | None:
    """Size and version tag of ``url``; None when the server says it does not exist (404)."""
    response = _request("HEAD", url, "looking the file up")
    if response.status in (404, 410):
        return None
    if response.status >= 400:
        raise _status_error(url, response.status, "looking the file up")
    length = response.headers.get("Content-Length")
    if length is None or not (length.isascii() and length.isdigit()):
        msg = (f"{url}: the server gives no size (Content-Length) for the file, so it cannot "
               "be read in parts; serve it from a server that supports range requests")
        raise RemoteFileError(msg)
    tag = response.headers.get("ETag") or response.headers.get("Last-Modified") or ""
    return RemoteObject(url, int(length), tag)


def read_range(url: str, start: int, end: int) -> bytes:
    """Bytes ``start`` to ``end`` (inclusive) of ``url``, by a range request."""
    response = _request("GET", url, f"reading bytes {start}-{end}",
                        headers={"Range": f"bytes={start}-{end}"})
    if response.status != 206 and not (response.status == 200 and start == 0):
        if response.status < 400:
            msg = (f"{url}: the server ignored a range request (HTTP {response.status}); "
                   "htslib reads gnomAD files in parts, so serve them from a server that "
                   "supports range requests (Accept-Ranges: bytes)")
            raise RemoteFileError(msg)
        raise _status_error(url, response.status, f"reading bytes {start}-{end}")
    data: bytes = response.data[:end - start + 1]
    if len(data) != end - start + 1:
        msg = (f"{url}: asked for bytes {start}-{end}, got {len(data)} bytes; the transfer "
               "was cut short. Run again")
        raise RemoteFileError(msg)
    return data


_LOCAL: dict[str, str] = {}
_LOCAL_LOCK = threading.Lock()


def local_index(index: str) -> str:
    """A local path for an index: ``index`` itself when local, else a cached download.

    The cache entry is named after the URL, size and version tag of the index on the
    server, so a changed index is downloaded again; each process asks the server once.
    """
    if not is_remote(index):
        return index
    with _LOCAL_LOCK:
        cached = _LOCAL.get(index)
        if cached is None or not Path(cached).exists():
            configure_htslib()
            cached = _LOCAL[index] = str(_fetch_index(index))
    return cached


def _fetch_index(url: str) -> Path:
    found = stat(url)
    if found is None:
        msg = f"{url}: index not found on the server (HTTP 404); it was there a moment ago"
        raise RemoteFileError(msg)
    name = url.rsplit("/", 1)[-1]
    key = hashlib.sha256(f"{url}\n{found.size}\n{found.tag}".encode()).hexdigest()[:24]
    folder = index_cache_dir()
    target = folder / f"{key}-{name}"
    if target.exists() and target.stat().st_size == found.size:
        return target
    data = read_range(url, 0, found.size - 1) if found.size else b""
    suffix = Path(name).suffix
    magic = _INDEX_MAGIC.get(suffix)
    try:  # the first 4 bytes of the first bgzip block
        head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data[:65536], 4)
    except zlib.error:
        head = b""
    if magic is not None and not head.startswith(magic):
        msg = (f"{url}: not a {suffix} index (it does not start with {magic!r} once "
               "decompressed); the server sent something else, or the file is damaged")
        raise RemoteFileError(msg)
    part = folder / f".{target.name}.{os.getpid()}.{threading.get_ident()}.part"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        part.write_bytes(data)
        part.replace(target)
    except OSError as exc:
        part.unlink(missing_ok=True)
        msg = (f"cannot write the index cache {folder} ({exc}); set VARIDEX_CACHE_DIR to a "
               "writable folder")
        raise RemoteFileError(msg) from exc
    return target


def read_hint(path: str) -> str:
    """What to do about a failed read of ``path`` (a URL or a local file)."""
    if is_remote(path):
        return (f"the connection was refused, dropped or timed out (after htslib's "
                f"{os.environ.get('HTS_RETRY_MAX', '')} retries); nothing was reported as "
                "absent. Check the network and run again")
    return ("the file may be truncated, not bgzip-compressed, or its index stale: "
            "re-download it, or recompress with `bgzip` and rebuild the index with "
            "`varidex index --force DIR`")
