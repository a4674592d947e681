"""Shared fixtures: real gnomAD excerpts copied into temporary folders per test session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

# Repeatable examples in CI; `HYPOTHESIS_PROFILE=fuzz pytest tests/test_fuzz.py` fuzzes longer.
settings.register_profile("ci", derandomize=True, max_examples=100, database=None)
settings.register_profile("fuzz", max_examples=5000, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

DATA = Path(__file__).parent / "data"
GNOMAD = DATA / "gnomad"
PACKAGE_DATA = Path(__file__).parents[1] / "src" / "varidex" / "gnomad" / "data"


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("VARIDEX_"):
            monkeypatch.delenv(key)


def _copy_release(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copytree(GNOMAD / name, target)
    if name == "r2.1.1-exomes":
        for f in PACKAGE_DATA.glob("gnomad.exomes.r2.1.1.sites.1.vcf.bgz*"):
            shutil.copy2(f, target / f.name)
    for f in target.iterdir():
        f.chmod(0o644)
    return target


@pytest.fixture(scope="session")
def gnomad_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every real release excerpt, each in its own folder, as a user would lay them out."""
    root = tmp_path_factory.mktemp("gnomad")
    for d in sorted(GNOMAD.iterdir()):
        _copy_release(d.name, root)
    return root


@pytest.fixture(scope="session")
def gnomad_root_blocks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same releases with varidex's indexes (fine CSI + block index) built."""
    from varidex.gnomad.discovery import index_folder

    root = tmp_path_factory.mktemp("gnomad_blocks")
    for d in sorted(GNOMAD.iterdir()):
        index_folder(_copy_release(d.name, root))
    return root


@pytest.fixture(params=["tabix", "blocks"])
def any_root(request: pytest.FixtureRequest, gnomad_root: Path,
             gnomad_root_blocks: Path) -> Path:
    """Each release read through tabix, then through varidex's block index."""
    return gnomad_root if request.param == "tabix" else gnomad_root_blocks


@pytest.fixture
def fresh_release(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A private, writable copy of one release folder (for index tests)."""

    def make(name: str) -> Path:
        return _copy_release(name, tmp_path)

    return make


@pytest.fixture(scope="session")
def generated() -> Path:
    return DATA / "generated"


# --- A real HTTP server on 127.0.0.1 with range requests, for remote gnomAD files ----------


class RangeServer:
    """Serves a folder over HTTP/1.1 on 127.0.0.1 with HEAD, ETag and byte ranges (206), as
    S3, GCS and web servers do. Faults on demand: ``drop_after[name] = n`` cuts the
    connection after ``n`` bytes of ``name``'s body in all and refuses it from then on;
    ``ranges = False`` ignores Range headers (200 with the whole file)."""

    def __init__(self, root: Path) -> None:
        import threading

        self.root = root
        self.log: list[tuple[str, str, str | None, int]] = []  # method, path, Range, status
        self.drop_after: dict[str, int] = {}
        self.sent: dict[str, int] = {}
        self.dead: set[str] = set()
        self.ranges = True
        self.lock = threading.Lock()
        self.httpd = _QuietServer(("127.0.0.1", 0), _range_handler(self))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def requests(self, method: str, suffix: str) -> list[tuple[str, str, str | None, int]]:
        with self.lock:
            return [r for r in self.log if r[0] == method and r[1].endswith(suffix)]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _quiet_server_class():  # type: ignore[no-untyped-def]
    from http.server import ThreadingHTTPServer

    class QuietServer(ThreadingHTTPServer):
        def handle_error(self, request: object, client_address: object) -> None:
            """A client that closes a stream it no longer needs is normal (htslib does)."""
            import sys

            if not isinstance(sys.exc_info()[1], ConnectionError):
                super().handle_error(request, client_address)  # type: ignore[arg-type]

    return QuietServer


_QuietServer = _quiet_server_class()


def _range_handler(server: RangeServer):  # type: ignore[no-untyped-def]
    import re
    import socket
    from http.server import BaseHTTPRequestHandler

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Quiet: requests go to ``server.log``."""

        def do_HEAD(self) -> None:  # noqa: N802
            self._serve(body=False)

        def do_GET(self) -> None:  # noqa: N802
            self._serve(body=True)

        def _note(self, status: int) -> None:
            with server.lock:
                server.log.append((self.command, self.path, self.headers.get("Range"), status))

        def _cut(self) -> None:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)

        def _serve(self, *, body: bool) -> None:
            name = self.path.lstrip("/")
            target = server.root / name
            if name in server.dead:
                self._note(0)
                self._cut()
                return
            if not target.is_file():
                self._note(404)
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            stat = target.stat()
            size = stat.st_size
            start, end = 0, size - 1
            wanted = self.headers.get("Range") if server.ranges else None
            if wanted:
                m = re.fullmatch(r"bytes=(\d+)-(\d*)", wanted)
                if m is None or int(m.group(1)) >= size:
                    self._note(416)
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start = int(m.group(1))
                end = min(int(m.group(2)) if m.group(2) else size - 1, size - 1)
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            else:
                self.send_response(200)
            self._note(206 if wanted else 200)
            if server.ranges:
                self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(end - start + 1))
            self.send_header("ETag", f'"{size:x}-{stat.st_mtime_ns:x}"')
            self.end_headers()
            if body:
                self._body(name, target, start, end - start + 1)

        def _body(self, name: str, target: Path, start: int, length: int) -> None:
            with target.open("rb") as handle:
                handle.seek(start)
                while length:
                    data = handle.read(min(length, 1 << 16))
                    with server.lock:
                        limit = server.drop_after.get(name)
                        room = None if limit is None else limit - server.sent.get(name, 0)
                        if room is not None and room < len(data):
                            server.dead.add(name)
                        data = data if room is None else data[:max(room, 0)]
                        server.sent[name] = server.sent.get(name, 0) + len(data)
                    try:
                        self.wfile.write(data)
                        if name in server.dead:
                            self.wfile.flush()
                            self._cut()
                            return
                    except (BrokenPipeError, ConnectionResetError):
                        return  # the client went away (htslib closes a stream it is done with)
                    length -= len(data)

    return Handler


@pytest.fixture
def range_server(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A RangeServer over a fresh folder holding copies of the generated releases."""
    root = tmp_path_factory.mktemp("served")
    for name in ("r2.1.1-exomes", "v4.1-genomes"):
        shutil.copytree(DATA / "generated" / name, root / name)
    server = RangeServer(root)
    yield server
    server.close()


@pytest.fixture
def index_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private index cache, and htslib retries that wait milliseconds, not seconds."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("VARIDEX_CACHE_DIR", str(cache))
    monkeypatch.setenv("HTS_RETRY_DELAY", "10")
    return cache / "indexes"
