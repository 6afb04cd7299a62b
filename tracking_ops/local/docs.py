"""`/docs` on the local runtime: Swagger UI for the served OpenAPI document.

The assets come from the installed ``swagger-ui-bundle`` package (Swagger UI's own
distribution files, maintained by the Connexion project), served by the local
server itself: nothing is fetched from a CDN, which many networks cannot reach.
"""

from __future__ import annotations

import html
import json

DOCS_PATH = "/docs"
OPENAPI_PATH = "/openapi.json"
LOCAL_PAGES = (DOCS_PATH, OPENAPI_PATH)  # served by the local runtime, not the API
ASSET_PREFIX = DOCS_PATH + "/"
# The files the page uses (and their types); nothing else of the package is served.
ASSETS = {
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui-bundle.js": "application/javascript; charset=utf-8",
    "swagger-ui-standalone-preset.js": "application/javascript; charset=utf-8",
    "favicon-32x32.png": "image/png",
}

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} - API docs</title>
<link rel="stylesheet" href="{prefix}swagger-ui.css">
<link rel="icon" type="image/png" href="{prefix}favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{prefix}swagger-ui-bundle.js"></script>
<script src="{prefix}swagger-ui-standalone-preset.js"></script>
<script>
window.ui = SwaggerUIBundle({{
  url: {spec_url},
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout"
}});
</script>
</body>
</html>
"""


def page(title: str, spec_url: str) -> bytes:
    """The HTML page; ``validatorUrl: null`` keeps Swagger UI from calling its online
    validator (the one request it would otherwise make to another host)."""
    return _PAGE.format(
        title=html.escape(title), prefix=ASSET_PREFIX, spec_url=json.dumps(spec_url)
    ).encode()


def asset(path: str) -> tuple[str, bytes] | None:
    """(content type, bytes) of ``/docs/<name>`` for the page's own assets, else None."""
    name = path.removeprefix(ASSET_PREFIX)
    if not path.startswith(ASSET_PREFIX) or name not in ASSETS:
        return None
    from swagger_ui_bundle import swagger_ui_path

    return ASSETS[name], (swagger_ui_path / name).read_bytes()
