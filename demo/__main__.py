"""Serve the demo APIs: python -m demo [port]."""

import sys

import uvicorn

from demo.app import create_app

if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8010
    uvicorn.run(create_app(), host="127.0.0.1", port=port, log_level="warning")
