"""Interactive QuickBooks sign-in that works on a desktop and over SSH. No UI here: the console
and the CLI show `SignIn.url`, then await `SignIn.result()`.

The redirect URI is the one registered on the Intuit app, checked first by
`redirect_uri.check_redirect_uri`. How the answer comes back depends on it:
- http://localhost:PORT/PATH: a listener on exactly that port and path catches the redirect
  (the browser on this machine, or on another one through `ssh -L PORT:localhost:PORT`);
- any other URI (an https page on the user's domain, which need not even exist): the user
  copies the address the browser was sent to and the front end passes it to `SignIn.paste`.
Paste-back works in both cases. `parse_redirect` is the pure parser both use: it verifies
`state` and turns `error=access_denied` into a clear SignInError.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from .errors import SignInError
from .oauth import IntuitOAuth, TokenSet
from .redirect_uri import RedirectUri


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
        # A query string, or its pairs as a page showed them (code=… realmId=… state=…, one a line)
        query = raw.split("?", 1)[1] if "?" in raw else raw
        query = "&".join(query.split())
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

    def __init__(self, oauth: IntuitOAuth, state: str, redirect: RedirectUri) -> None:
        self.oauth = oauth
        self.state = state
        self.redirect_uri = redirect.uri
        self.listen_path = redirect.listen_path
        self.url, _ = oauth.authorization_url(state, redirect_uri=redirect.uri)
        self._servers: list[asyncio.AbstractServer] = []
        self._outcome: asyncio.Future[Redirect] = asyncio.get_running_loop().create_future()

    @property
    def listening(self) -> bool:
        return bool(self._servers)

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
        servers, self._servers = self._servers, []
        for server in servers:
            server.close()
            await server.wait_closed()

    async def _listen(self, port: int) -> None:
        """Listen on localhost:port as a browser resolves it: 127.0.0.1, and ::1 where the
        machine has IPv6 (a browser may try either). Never another port: Intuit redirects only
        to the registered one."""
        try:
            self._servers.append(await asyncio.start_server(self._handle, "127.0.0.1", port))
        except OSError as exc:
            raise SignInError(
                f"cannot listen on localhost:{port} for the redirect ({exc.strerror or exc}): another "
                "program uses that port, or it needs more rights (ports below 1024). Register another "
                "http://localhost:PORT/PATH on the Intuit app and use that") from None
        try:
            self._servers.append(await asyncio.start_server(self._handle, "::1", port))
        except OSError:
            pass  # no IPv6 loopback here: browsers fall back to 127.0.0.1

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = (await asyncio.wait_for(reader.readline(), 10)).decode("latin-1")
            while (await asyncio.wait_for(reader.readline(), 10)) not in (b"\r\n", b"\n", b""):
                pass  # headers are not needed
            parts = request_line.split()
            target = parts[1] if len(parts) >= 2 else ""
            if parts[:1] != ["GET"] or (urlsplit(target).path or "/") != self.listen_path:
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


async def start_sign_in(oauth: IntuitOAuth, redirect: RedirectUri) -> SignIn:
    """Begin a sign-in through `redirect` (from check_redirect_uri). For http://localhost:PORT/PATH
    a listener on exactly that port and path receives the redirect; paste-back always works."""
    attempt = SignIn(oauth, secrets.token_urlsafe(24), redirect)
    if redirect.listen_port is not None:
        await attempt._listen(redirect.listen_port)
    return attempt
