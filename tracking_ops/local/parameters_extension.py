"""A local stand-in of AWS's Parameters and Secrets Lambda extension, served from moto.

The API function reads SSM through the extension's HTTP API on localhost
(tracking_api.settings). Locally this server answers the same request
(``GET /systemsmanager/parameters/get?name=..&withDecryption=true`` with the
session token in ``X-Aws-Parameters-Secrets-Token``) with what SSM's
GetParameter returns, as the extension does: it calls SSM GetParameter with the
function's environment (endpoint and credentials), so a proxy or an outage on
the function's SSM endpoint reaches it too. Like the deployed extension with its
cache off (the function caches), every request is one GetParameter.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from botocore.exceptions import BotoCoreError, ClientError

from tracking_common.runtime_config import PARAMETERS_EXTENSION
from tracking_ops.local.http_front import LoopbackServer

ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL")


def _ssm_client(environment: Mapping[str, str], cache: dict[str, Any]) -> Any:
    endpoint = next((environment[v] for v in ENDPOINT_VARIABLES if environment.get(v)), None)
    if endpoint not in cache:
        import botocore.session

        from tracking_ops.local import standin

        cache[endpoint] = botocore.session.get_session().create_client(
            "ssm",
            endpoint_url=endpoint,
            region_name=environment.get("AWS_REGION", standin.REGION),
            aws_access_key_id=environment.get("AWS_ACCESS_KEY_ID", "standin"),
            aws_secret_access_key=environment.get("AWS_SECRET_ACCESS_KEY", "standin"),
            aws_session_token=environment.get("AWS_SESSION_TOKEN"),
        )
    return cache[endpoint]


def _handler(
    environment: Mapping[str, str], clients: dict[str, Any]
) -> type[BaseHTTPRequestHandler]:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            token = self.headers.get(PARAMETERS_EXTENSION.token_header)
            if token is None or token != environment.get("AWS_SESSION_TOKEN"):
                return self._reply(401, {"message": "missing or wrong session token"})
            if url.path != PARAMETERS_EXTENSION.path or "name" not in query:
                return self._reply(400, {"message": "unsupported request"})
            try:
                with lock:  # botocore clients are thread-safe; creating them is not
                    client = _ssm_client(environment, clients)
                reply = client.get_parameter(
                    Name=query["name"][0],
                    WithDecryption=query.get("withDecryption", ["false"])[0] == "true",
                )
            except ClientError as exc:
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
                return self._reply(status, {"message": str(exc)})
            except BotoCoreError as exc:  # SSM unreachable
                return self._reply(502, {"message": str(exc)})
            reply.pop("ResponseMetadata", None)
            self._reply(200, {**reply, "ResultMetadata": {}})

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body, default=str).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler


@contextlib.contextmanager
def serve(environment: Mapping[str, str]) -> Iterator[dict[str, str]]:
    """The extension's endpoint on 127.0.0.1 and a free port, for functions whose
    environment is ``environment`` (read on every request). Yields the variables
    that point a function at it."""
    from tracking_ops.local import standin

    # The SSM client is built before the first request: building one loads botocore's
    # model of SSM, which on a busy machine took longer than a function's whole budget
    # for its first settings fetch (it then logged "Parameters unavailable").
    clients: dict[str, Any] = {}
    _ssm_client(environment, clients)
    server = LoopbackServer((standin.LOOPBACK, 0), _handler(environment, clients))
    thread = threading.Thread(target=server.serve_forever, name="parameters-extension")
    thread.daemon = True
    thread.start()
    try:
        yield {PARAMETERS_EXTENSION.port_variable: str(server.server_port)}
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
