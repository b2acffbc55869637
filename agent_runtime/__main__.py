"""``python -m agent_runtime``: read the settings, build the app, serve on ``HOST``:``PORT``.

A bad setting or agents file prints one line to stderr and exits with status 2; so does
``APP_ENV=production`` (the default) with a weak or published signing secret.
"""

from __future__ import annotations

import logging
import os
import sys

from agent_runtime.errors import ConfigError

__all__ = ["main"]


def main() -> int:
    """Run the runtime until interrupted; returns the exit status."""
    from agent_runtime.config import load_settings

    try:
        settings = load_settings(os.environ)
        from agent_runtime.app import create_app

        app = create_app(settings)
    except ConfigError as exc:
        print(f"agent_runtime: configuration error: {exc.message}", file=sys.stderr)
        return 2
    from agent_runtime.telemetry import configure_logging, init_telemetry

    configure_logging()
    logging.getLogger("bedrock_agentcore.app").setLevel(logging.WARNING)
    init_telemetry()
    problems = settings.production_problems()
    if problems:
        print(f"agent_runtime: configuration error: {problems[0]}", file=sys.stderr)
        return 2
    # Always the configured address (loopback unless HOST says otherwise): never the SDK's own
    # guess, which listens on every interface whenever /.dockerenv exists.
    host = settings.host
    logging.getLogger(__name__).info(
        "host=<%s>, port=<%d>, provider=<%s>, workers=<%d> | agent runtime starting",
        host,
        settings.port,
        settings.model_provider,
        settings.builder_workers,
    )
    app.run(port=settings.port, host=host)
    return 0


if __name__ == "__main__":
    sys.exit(main())
