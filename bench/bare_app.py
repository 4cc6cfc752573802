"""The baseline: a bare Flask endpoint that reads the body and returns 200, under the same
gunicorn settings as `meterwise serve` (receiver.server.gunicorn_options)."""

from __future__ import annotations

import sys

from flask import Flask, request
from gunicorn.app.base import BaseApplication

from meterwise.receiver.server import gunicorn_options

app = Flask(__name__)


@app.post("/webhooks/jaas/<account>")
def receive(account: str):
    request.get_data()
    return {"status": "ok"}, 200


@app.get("/healthz")
def healthz():
    return {"status": "ok"}, 200


class Bare(BaseApplication):
    def __init__(self, port: int, workers: int, threads: int = 8) -> None:
        self.options = gunicorn_options("127.0.0.1", port, workers, threads)
        self.options.pop("child_exit")
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:
                self.cfg.set(key, value)

    def load(self):
        return app


if __name__ == "__main__":
    Bare(*(int(a) for a in sys.argv[1:4])).run()
