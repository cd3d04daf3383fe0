"""GET /embed/chatwoot: the page Chatwoot shows as a Dashboard App, beside the open conversation.

Chatwoot loads the page in an iframe and posts it the conversation (`{"event": "appContext", "data":
{"conversation", "contact", "currentAgent"}}`, as a JSON string); the page asks again with
`chatwoot-dashboard-app:fetch-info` when it loads and every few seconds while it is visible. For the
latest incoming, public, not deleted message of the conversation (the earlier turns as context) it
shows the suggestion with Copy, the "why", the alternatives and the dismiss reasons, or, when there is
none, why in words and a search of the approved answers; it posts the same events as the console, with the
agent (`currentAgent`) as `agent_id`. Case and agent are named as the Chatwoot connector names them
(`chatwoot:<account id>:<conversation number>`; the agent's name in Chatwoot), and the message id is
Chatwoot's, so the page reuses the suggestion already made for that message (by an earlier visit, or
by the connector when it stores its suggestions with the message id), and the connector the page's
when the page asked first (`integrations/delivery.py`): one suggestion, and one `shown` event per
agent, per message. A message too long for `POST /v1/suggest`'s body (`suggest.body_limit`, given
to the page) is asked about by its id alone (`GET /v1/suggest`): the note's suggestion, made when
the webhook delivered it. See static/embed.js.

**Who may frame it, and whose messages it reads.** Only Chatwoot's origin in agents' browsers,
`[chatwoot] frame_origin` (else the origin of `base_url`, the API's address), may frame this path
(`frame-ancestors`, see `service/headers.py`; every other page may be framed by nobody), and the
script accepts `postMessage` only from that origin and from its parent window. Without the setting
the page says so and does nothing.

**How it authenticates: an `embed` key in the URL's fragment**, not the session cookie. In a real
deployment Chatwoot and supportcue are different sites, and a browser does not send a SameSite=Lax
cookie to a cross-site iframe (nor, increasingly, any third-party cookie); making the session cookie
SameSite=None for this page would expose every session to cross-site requests. So the Dashboard App
URL carries a key of the narrow `embed` role: `https://SUPPORTCUE/embed/chatwoot#key=sc_...`
(`supportcue keys create --name chatwoot-embed --role embed` prints it). The fragment never leaves the
browser: it is not sent to the server, so it appears in no access log, proxy log or `Referer`. The
page itself is a shell with no data, served without a caller like a static file; its script sends
the key as a bearer token with each call. Whoever can open Chatwoot's settings or the frame's address
can read the key, so it may do little: ask for suggestions, read approved answers, and post `shown`,
`inserted`, `dismissed` and `alternative` events (never `sent` or `resolved`, which come from the help
desk itself), and nothing else (no console, no cases, no metrics). Revoke it with `supportcue keys
revoke chatwoot-embed`; a running server refuses it within seconds.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from supportcue.service.deps import SettingsDep
from supportcue.service.routes.pages import templates
from supportcue.service.routes.suggest import body_limit

CHATWOOT_PATH = "/embed/chatwoot"
router = APIRouter(include_in_schema=False)


@router.get(CHATWOOT_PATH, response_class=HTMLResponse)
async def chatwoot(request: Request, settings: SettingsDep) -> Response:
    """The Dashboard App page (a shell: its data comes from Chatwoot and the API)."""
    data = {"chatwoot_origin": settings.chatwoot.origin, "suggest_max_bytes": body_limit(settings)}
    return templates.TemplateResponse(request, "embed.html", {"embed_data": data})
