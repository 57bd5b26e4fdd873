"""A bare Bolt app that only acknowledges /steward, served like Steward (waitress, same threads): the baseline."""

import contextlib
import sys

from slack_bolt import App
from slack_sdk import WebClient

from bot.server import make_http_server


def main(port: int, secret: str, api_url: str) -> None:
    client = WebClient(token="xoxb-local-token", base_url=api_url)
    app = App(client=client, signing_secret=secret, process_before_response=True)

    @app.command("/steward")
    def ack_only(ack):
        ack(text="ok")

    from slack_bolt.adapter.wsgi import SlackRequestHandler

    server = make_http_server(SlackRequestHandler(app), host="127.0.0.1", port=port, threads=4)
    print(f"listening on http://127.0.0.1:{server.effective_port}/slack/events", flush=True)
    with contextlib.suppress(SystemExit, KeyboardInterrupt):
        server.run()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], sys.argv[3])
