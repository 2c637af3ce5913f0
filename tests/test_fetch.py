"""`inpaint-bench fetch` against a local HTTP server started by the test: a good file, a wrong hash, an interrupted
transfer that resumes with a Range request, a 404, and a source that needs a manual step."""

import hashlib
import http.server
import threading

import pytest

from inpaint_bench.files import weights
from inpaint_bench.files.fetch import FetchError, fetch_one

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves /good.bin (Range-aware) and /flaky.bin (the first request stops half-way); anything else is 404."""

    flaky_calls = 0
    ranges: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path not in ("/good.bin", "/flaky.bin"):
            self.send_error(404, "Not Found")
            return
        start = 0
        if "Range" in self.headers:
            start = int(self.headers["Range"].removeprefix("bytes=").split("-")[0])
            Handler.ranges.append(start)
        body = PAYLOAD[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path == "/flaky.bin" and Handler.flaky_calls == 0:
            Handler.flaky_calls += 1
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)  # the connection drops mid-transfer
            return
        self.wfile.write(body)


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Handler.flaky_calls, Handler.ranges = 0, []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def entry(url, prefix=None, name="x.bin"):
    return weights.WeightFile("test_file", name, "cache", url, prefix, "a test file")


SHA = hashlib.sha256(PAYLOAD).hexdigest()


def test_a_good_file_is_fetched_verified_and_left_alone_the_second_time(server):
    path = fetch_one(entry(f"{server}/good.bin", SHA[:8]), progress=False, echo=lambda s: None)
    assert path.read_bytes() == PAYLOAD and path == weights.paths.cache_dir() / "weights" / "x.bin"
    lines = []
    fetch_one(entry(f"{server}/good.bin", SHA[:8]), progress=False, echo=lines.append)
    assert "present" in lines[0]


def test_a_wrong_hash_is_refused_and_nothing_is_kept(server):
    with pytest.raises(FetchError, match="expected 00000000"):
        fetch_one(entry(f"{server}/good.bin", "00000000"), progress=False, echo=lambda s: None)
    folder = weights.paths.cache_dir() / "weights"
    assert not (folder / "x.bin").exists() and not (folder / "x.bin.part").exists()


def test_an_interrupted_transfer_resumes_with_a_range_request(server):
    e = entry(f"{server}/flaky.bin", SHA[:8])
    with pytest.raises(FetchError, match="rerun"):
        fetch_one(e, progress=False, echo=lambda s: None)
    part = weights.paths.cache_dir() / "weights" / "x.bin.part"
    assert 0 < part.stat().st_size < len(PAYLOAD)
    done = part.stat().st_size
    assert fetch_one(e, progress=False, echo=lambda s: None).read_bytes() == PAYLOAD
    assert Handler.ranges == [done]  # only the missing bytes were asked for


def test_unpinned_files_are_pinned_on_first_fetch(server):
    fetch_one(entry(f"{server}/good.bin"), progress=False, echo=lambda s: None)
    assert SHA in weights.pins_path().read_text()


def test_a_404_and_a_manual_source_give_clear_messages(server):
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch_one(entry(f"{server}/missing.bin"), progress=False, echo=lambda s: None)
    manual = weights.CHECKPOINTS["repaint_celeba256"]
    with pytest.raises(FetchError, match="no direct download.*celeba256_250000.pt"):
        fetch_one(manual, progress=False, echo=lambda s: None)


def test_fetch_help_lists_every_file_and_missing_file_messages_name_it(capsys):
    from inpaint_bench.cli import main
    from inpaint_bench.files.fetch import catalogue

    with pytest.raises(SystemExit):
        main(["fetch", "--help"])
    out = capsys.readouterr().out
    assert all(key in out for key in catalogue())
    with pytest.raises(weights.WeightsMissing, match="inpaint-bench fetch resnet50"):
        weights.get("resnet50").require()
