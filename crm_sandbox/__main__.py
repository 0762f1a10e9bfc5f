"""Run the sandboxes alone: `python -m crm_sandbox --port 5055` (threaded werkzeug server)."""
from __future__ import annotations

import argparse

from werkzeug.serving import run_simple

from crm_sandbox import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m crm_sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--database-url", help="overrides SANDBOX_DATABASE_URL")
    args = parser.parse_args(argv)
    config = {"SANDBOX_DATABASE_URL": args.database_url} if args.database_url else None
    app = create_app(config)
    print(f"HubSpot sandbox:    http://{args.host}:{args.port}/sandbox/hubspot  (pages: /ui/deals)")
    print(f"Salesforce sandbox: http://{args.host}:{args.port}/sandbox/salesforce  (pages: /ui/Lead)")
    run_simple(args.host, args.port, app, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
