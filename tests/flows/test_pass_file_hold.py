"""A pass never keeps the warehouse file while it waits on the network: readers get in."""
from __future__ import annotations

import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from warehouse.readonly import run_readonly_sql
from world import NEWSWATCH, REPO, cli_env

EMPTY_FEED = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Slow desk</title>'
              b"<link>http://127.0.0.1/</link><description>nothing today</description></channel></rss>")


class _SlowFeeds(ThreadingHTTPServer):
    """`/slow` answers only when `release` is set; `arrived` is set when it is asked."""

    daemon_threads = True

    def __init__(self) -> None:
        self.arrived, self.release = threading.Event(), threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - the base class's name
                if self.path == "/slow":
                    server.arrived.set()
                    server.release.wait(60)
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(EMPTY_FEED)))
                self.end_headers()
                self.wfile.write(EMPTY_FEED)

        super().__init__(("127.0.0.1", 0), Handler)


def test_readers_get_the_file_while_a_slow_feed_keeps_the_pass_waiting(tmp_path, prefect_api):
    db = tmp_path / "nw.duckdb"
    (tmp_path / "seed.txt").write_text("The rights office asked for access to the region again.", encoding="utf-8")
    with _SlowFeeds() as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}"
        config = tmp_path / "watch.toml"
        config.write_text(f'[watch]\nname = "slow"\nseeds = ["seed.txt"]\n'
                          f'[[feeds]]\nname = "quick"\nurl = "{base}/quick"\n'
                          f'[[feeds]]\nname = "slow"\nurl = "{base}/slow"\n'
                          "[fetch]\nallow_private_hosts = true\ntimeout = 60.0\n", encoding="utf-8")
        proc = subprocess.Popen([str(NEWSWATCH), "run", "--config", str(config), "--db", str(db)], cwd=REPO,
                                env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            assert server.arrived.wait(120), "the pass never asked for the slow feed"
            time.sleep(0.3)
            # The slow feed has not answered: the pass is waiting on the network, and a reader
            # gets the file at once instead of waiting for the feed.
            started = time.monotonic()
            _, rows = run_readonly_sql(db, "SELECT status FROM run", wait_seconds=1.0)
            waited = time.monotonic() - started
            assert rows == [("running",)] and proc.poll() is None
        finally:
            server.release.set()
            output = proc.communicate(timeout=120)[0]
        server.shutdown()
    assert proc.returncode == 0, output
    assert waited < 0.5
    _, rows = run_readonly_sql(db, "SELECT status, sources_ok FROM run")
    assert rows == [("completed", 2)]
