"""``python -m webapp``: serve the app with gunicorn on ``WEBAPP_PORT``/``PORT`` (default 5000).

The worker class is ``gevent``, chosen by measurement (``bench/webapp_bench.py`` →
``bench/results/webapp.json``: every frame of N streams held 30 s at one frame a second, opened at
once, one attempt per level, nginx side by side; the summary recommends the class meeting the most
of issue 9's five targets, then the one holding the most streams at p99 ≤ 50 ms with zero loss). In
the four full runs of 2026-12-01/02 before the startup heap was frozen (below), gevent held 1,000
streams every time and failed 1,500 on p99 (78–123 ms: the collector's full passes), never on loss;
in the two runs since, it held 1,500 (p99 17.5 and 9.8 ms) and met 4 of the 5 targets. gthread held
500–1,500 and where it failed it lost frames (540 at 1,000; 6,690 at 1,500). With the express lane for
stream openings (:mod:`webapp.agent.express`; run of 2026-12-02) gevent met all five: 1,500 streams at
p99 10 ms, 0.32× nginx's p99 at 500, 20 KB per open stream, 1.72 ms of CPU per stream opened (the
server and transport alone, ``bench/bare_relay.py``: 0.68 ms) and a first-byte p99 of 444 ms when 250
open at once.
``WEB_WORKER_CLASS=gthread`` remains a choice.

``WEB_WORKER_CLASS=uvicorn`` serves the ASGI edge (``webapp/edge.py``: gunicorn's UvicornWorker;
Flask still answers every request, a stream's relay runs on the event loop, not a thread): half
gthread's memory per open stream (~18 vs ~37 KB), a somewhat earlier first byte when many streams
open at once, slow clients and open streams hold no thread (no ``WEB_THREADS`` ceiling), but a
higher frame p99 while a rush of openings competes with the loop. ``WEB_OPENING_THREADS``
(default 2) run its stream openings; ``WEB_THREADS`` (uvicorn default 32) every other request.
With ``WEB_WORKER_CLASS=gthread`` a stream occupies one thread for its life, so ``WEB_THREADS``
(default 1000) bounds the streams per worker process; add processes with ``WEB_CONCURRENCY``. With
gevent a stream is a greenlet (psycopg waits cooperatively once gevent has patched the process),
and at most ``WEB_OPENING_GREENLETS`` (default 6) stream openings do their own work at once, the
rest waiting in arrival order and starting one per idle turn of the loop; a slot is given back before
the runtime is asked, so a runtime slow to answer holds none (:mod:`webapp.openings`). With the gate
the frame p99 at 500 streams is 1.5–4 ms (26–50 ms without it; nginx 3.6 ms in the same run).
Every worker, whatever its class, builds its app after the fork and then freezes that startup heap
(:func:`freeze_startup_heap`), so the collector's full passes walk only what serving creates.
``WEB_SERVER=werkzeug`` is a single-process development fallback.

``WEB_SWITCH_INTERVAL_MS`` sets the GIL switch interval (:func:`sys.setswitchinterval`; default
:data:`DEFAULT_SWITCH_INTERVAL_MS`, Python's own is 5 ms): how long a thread that has the GIL may
keep it while a relay thread woken by a frame waits for it.
"""

import gc
import os
import sys

WORKER_CLASS = os.environ.get("WEB_WORKER_CLASS", "gevent")
SERVER = os.environ.get("WEB_SERVER", "gunicorn")
if __name__ == "__main__" and WORKER_CLASS == "gevent" and SERVER == "gunicorn":
    # Serving: patch before this module imports anything more (never when merely imported, e.g. by a
    # test: that would patch the importing process).
    from gevent import monkey

    monkey.patch_all()

from typing import Any  # noqa: E402

DEFAULT_SWITCH_INTERVAL_MS = 5.0
DEFAULT_OPENING_GREENLETS = 6
"""gevent: stream openings that run at once (:mod:`webapp.openings`); chosen by ``make bench``."""


def apply_switch_interval(environ: Any = os.environ) -> float:
    """Set the GIL switch interval from ``WEB_SWITCH_INTERVAL_MS``; returns the interval in force (s).

    Unset or empty means :data:`DEFAULT_SWITCH_INTERVAL_MS`; ``0`` leaves the interval as it is.

    Raises:
        ValueError: the setting is not a number, or is negative.
    """
    raw = str(environ.get("WEB_SWITCH_INTERVAL_MS") or "").strip()
    try:
        milliseconds = float(raw) if raw else DEFAULT_SWITCH_INTERVAL_MS
    except ValueError:
        milliseconds = float("nan")
    if not milliseconds >= 0:
        raise ValueError(f"WEB_SWITCH_INTERVAL_MS must be a number >= 0, got {raw!r}")
    if milliseconds > 0:
        sys.setswitchinterval(milliseconds / 1000)
    return sys.getswitchinterval()


def opening_greenlets(environ: Any = os.environ) -> int:
    """``WEB_OPENING_GREENLETS``: how many stream openings run at once under gevent.

    Raises:
        ValueError: the setting is not a whole number of at least 1.
    """
    raw = str(environ.get("WEB_OPENING_GREENLETS") or "").strip()
    if not raw:
        return DEFAULT_OPENING_GREENLETS
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"WEB_OPENING_GREENLETS must be a whole number >= 1, got {raw!r}")
    return int(raw)


def _settings() -> dict[str, Any]:
    port = int(os.environ.get("WEBAPP_PORT") or os.environ.get("PORT") or 5000)
    host = os.environ.get("WEBAPP_HOST", "127.0.0.1")
    workers = int(os.environ.get("WEB_CONCURRENCY") or min(2, os.cpu_count() or 1))
    settings: dict[str, Any] = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": WORKER_CLASS,
        "timeout": 60,
        "graceful_timeout": 20,
        "keepalive": 5,
        "accesslog": os.environ.get("WEB_ACCESS_LOG", "-") or None,
        "errorlog": "-",
        "loglevel": os.environ.get("LOG_LEVEL", "info").lower(),
        "forwarded_allow_ips": os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
    }
    # Both classes cap open connections per worker with worker_connections (gunicorn's default 1000).
    settings["worker_connections"] = int(os.environ.get("WEB_WORKER_CONNECTIONS", 4000))
    if WORKER_CLASS == "uvicorn":
        settings["worker_class"] = "webapp.edge.EdgeWorker"
    elif WORKER_CLASS != "gevent":
        settings["threads"] = int(os.environ.get("WEB_THREADS", 1000))
    return settings


SERVING = {"BACKGROUND_WORKERS": True}
"""A serving process runs the background workers (approvals: escalation, expiry, notifications);
an app built for a command, a migration or a test does not."""


def freeze_startup_heap() -> int:
    """Collect once, then take every object built so far out of the collector's sight; how many.

    A worker's app is 110,000–130,000 tracked objects (modules, the ORM's mappings, compiled
    statements, the app's routes) that live as long as the process. Python's collector walked all of
    them in each full collection, stopping the worker for ~100 ms: every open stream's frames waited
    (``make bench``: one 117 ms collection during a 500-stream level, that level's frame max 121 ms;
    two such collections, 207 ms, over 1,300 streams opened). Frozen (:func:`gc.freeze`), a full
    collection walks only what was made since (~6,000 objects; 10 ms, once, in the same load).
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def worker_app(openings: int) -> Any:
    """The app one worker serves, built after the fork (its own pools, HTTP clients, approvals worker).

    Under gevent its stream openings pass the opening gate (``openings`` at once); the startup heap
    is frozen last (:func:`freeze_startup_heap`).
    """
    from webapp import create_app

    app: Any
    if WORKER_CLASS == "uvicorn":
        from webapp.edge import create_asgi_app

        app = create_asgi_app(
            threads=int(os.environ.get("WEB_THREADS", 32)),
            opening_threads=int(os.environ.get("WEB_OPENING_THREADS", 2)),
        )
    else:
        app = create_app(SERVING)
        if WORKER_CLASS == "gevent":
            from gevent import idle

            from webapp.openings import gate_stream_openings

            app.wsgi_app = gate_stream_openings(app.wsgi_app, openings, wait_idle=idle)
    freeze_startup_heap()
    return app


def main() -> int:
    """Validate the configuration, then serve."""
    from webapp import create_app
    from webapp.errors import ConfigError

    try:
        app = create_app()
        switch_interval = apply_switch_interval()  # before the fork: every worker inherits it
        openings = opening_greenlets()
    except (ConfigError, ValueError) as exc:
        print(f"webapp: error: {exc}", file=sys.stderr)
        return 2
    settings = _settings()
    if os.environ.get("WEB_SERVER", "gunicorn") == "werkzeug":
        host, port = settings["bind"].rsplit(":", 1)
        app = create_app(SERVING)
        app.run(host=host, port=int(port), threaded=True, use_reloader=False)
        return 0

    from gunicorn.app.base import BaseApplication

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return worker_app(openings)

    print(
        f"webapp: serving on http://{settings['bind']} with {settings['workers']} {WORKER_CLASS} worker(s)"
        f" (GIL switch interval {switch_interval * 1000:g} ms)",
        file=sys.stderr,
    )
    _Server().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
