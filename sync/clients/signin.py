"""Interactive QuickBooks sign-in that works on a desktop and over SSH. No UI here: the console
and the CLI show `SignIn.url`, then await `SignIn.result()`.

Two ways back from Intuit's consent page, both live at once:
- a loopback listener (http://127.0.0.1:<port>/callback) catches the redirect when the browser
  runs on this machine;
- otherwise the browser (on another machine) fails to load that address; the user copies the
  URL from its address bar and the front end passes it to `SignIn.paste(text)`.
`parse_redirect` is the pure parser both use: it verifies `state` and turns
`error=access_denied` into a clear SignInError.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from .errors import SignInError
from .oauth import IntuitOAuth, TokenSet

CALLBACK_PATH = "/callback"


@dataclass(frozen=True)
class Redirect:
    code: str
    state: str
    realm_id: str | None


def parse_redirect(text: str, expected_state: str) -> Redirect:
    """Parse what the user pasted: the whole redirected URL, or just its query string (with or
    without the leading "?"). Raises SignInError with a plain explanation when it is unusable."""
    raw = (text or "").strip().strip('"').strip("'")
    if not raw:
        raise SignInError("nothing was pasted: paste the address the browser was sent to after you connected")
    if "://" in raw:
        parts = urlsplit(raw)
        query = parts.query
        if not query and parts.fragment:
            query = parts.fragment
    else:
        query = raw.split("?", 1)[1] if "?" in raw else raw
    query = query.split("#", 1)[0]
    params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
    if not params:
        raise SignInError("that is not the redirected address: it carries no code, state or realmId")
    if "error" in params:
        error = params["error"]
        if error == "access_denied":
            raise SignInError("the QuickBooks connection was cancelled on Intuit's page (access_denied); "
                              "start again and choose Connect")
        desc = params.get("error_description", "")
        raise SignInError(f"Intuit refused the sign-in: {error}" + (f" ({desc})" if desc else ""))
    state = params.get("state", "")
    if not state:
        raise SignInError("the pasted address has no state parameter; paste the whole address")
    if not secrets.compare_digest(state, expected_state):
        raise SignInError("the pasted address belongs to another sign-in attempt (state does not match); "
                          "use the link of this attempt")
    code = params.get("code", "")
    if not code:
        raise SignInError("the pasted address has no authorization code; paste the whole address")
    return Redirect(code=code, state=state, realm_id=params.get("realmId") or None)


_PAGE_OK = ("<!doctype html><html><head><title>atqbo</title></head><body>"
            "<h1>QuickBooks is connected</h1><p>You can close this window and return to atqbo.</p>"
            "</body></html>")
_PAGE_FAIL = ("<!doctype html><html><head><title>atqbo</title></head><body>"
              "<h1>QuickBooks was not connected</h1><p>{reason}</p></body></html>")


class SignIn:
    """One sign-in attempt. Create with `start_sign_in`."""

    def __init__(self, oauth: IntuitOAuth, state: str) -> None:
        self.oauth = oauth
        self.state = state
        self.redirect_uri = ""
        self.url = ""
        self.listening = False
        self._server: asyncio.AbstractServer | None = None
        self._outcome: asyncio.Future[Redirect] = asyncio.get_running_loop().create_future()

    def _use_redirect_uri(self, redirect_uri: str) -> None:
        self.redirect_uri = redirect_uri
        self.url, _ = self.oauth.authorization_url(self.state, redirect_uri=redirect_uri)

    def paste(self, text: str) -> Redirect:
        """Hand over the pasted address. A bad paste raises and the attempt stays open, so the
        user can paste again; a refusal (access_denied) ends the attempt."""
        try:
            redirect = parse_redirect(text, self.state)
        except SignInError as exc:
            if "access_denied" in str(exc) and not self._outcome.done():
                self._outcome.set_exception(exc)
            raise
        if not self._outcome.done():
            self._outcome.set_result(redirect)
        return redirect

    async def redirect(self) -> Redirect:
        """The redirect, from the listener or a paste, whichever comes first."""
        return await asyncio.shield(self._outcome)

    async def result(self) -> TokenSet:
        """Wait for the redirect, exchange the code, persist the tokens (oauth.on_tokens)."""
        try:
            redirect = await self.redirect()
            return await self.oauth.exchange_code(redirect.code, redirect.realm_id,
                                                  redirect_uri=self.redirect_uri)
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
            self.listening = False

    async def _listen(self, host: str, port: int) -> int:
        self._server = await asyncio.start_server(self._handle, host, port)
        self.listening = True
        return self._server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = (await asyncio.wait_for(reader.readline(), 10)).decode("latin-1")
            while (await asyncio.wait_for(reader.readline(), 10)) not in (b"\r\n", b"\n", b""):
                pass  # headers are not needed
            parts = request_line.split()
            target = parts[1] if len(parts) >= 2 else ""
            if parts[:1] != ["GET"] or urlsplit(target).path != CALLBACK_PATH:
                await _reply(writer, 404, "<p>Not found.</p>")
                return
            try:
                self.paste(target)
            except SignInError as exc:
                await _reply(writer, 400, _PAGE_FAIL.format(reason=_html(str(exc))))
                return
            await _reply(writer, 200, _PAGE_OK)
        except (asyncio.TimeoutError, ConnectionError, UnicodeDecodeError):
            pass
        finally:
            writer.close()


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


async def _reply(writer: asyncio.StreamWriter, status: int, page: str) -> None:
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
    body = page.encode("utf-8")
    writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n"
                 f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode("latin-1") + body)
    await writer.drain()


async def start_sign_in(oauth: IntuitOAuth, *, listen: bool = True, host: str = "127.0.0.1",
                        port: int = 0, redirect_uri: str | None = None) -> SignIn:
    """Begin a sign-in. With `listen`, a loopback listener receives the redirect: at
    `redirect_uri` when given (an http loopback URI with a port and path /callback, as
    registered with the Intuit app), else on host:port (0 = any free port) as
    http://host:port/callback. Without `listen`, `redirect_uri` (default oauth.redirect_uri) is
    used and only paste-back completes the attempt. Paste-back works in both modes."""
    attempt = SignIn(oauth, secrets.token_urlsafe(24))
    if listen and redirect_uri:
        # A registered loopback URI (e.g. http://localhost:8765/callback): listen where it points.
        parts = urlsplit(redirect_uri)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost", "::1") or not parts.port:
            raise SignInError(f"cannot listen for {redirect_uri}: a listener needs an http loopback "
                              "address with a port; use paste-back (listen=False) instead")
        if parts.path != CALLBACK_PATH:
            raise SignInError(f"the loopback listener serves {CALLBACK_PATH}, not {parts.path}")
        await attempt._listen("127.0.0.1" if parts.hostname == "localhost" else parts.hostname, parts.port)
        attempt._use_redirect_uri(redirect_uri)
    elif listen:
        bound = await attempt._listen(host, port)  # bind first: the redirect URI names the port
        attempt._use_redirect_uri(f"http://{host}:{bound}{CALLBACK_PATH}")
    else:
        attempt._use_redirect_uri(redirect_uri or oauth.redirect_uri)
    return attempt
