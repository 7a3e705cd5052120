"""Connect (first run, and to reconnect): sign in to QuickBooks Online through the redirect URI
registered on the Intuit app (checked first against Intuit's rules; atqbo listens on an
http://localhost one, any other is pasted back over SSH), Autotask credentials with a "test
connection" that says what is wrong, then the settings, a review page, and Connect — which
starts scanning. Reconnecting keeps the settings (the form starts from the saved ones).

The sign-in address is shown outside the bordered page, alone and full width, so a terminal
copies it without border characters (a browser drops the line breaks of a pasted address), and
is put on the clipboard by OSC 52 where the terminal allows.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, ContentSwitcher, Input, Label, Select, Static

from sync.text import shown

from .doctor import DoctorView, verdict_markup
from .footer import KeysFooter
from .markup import escape
from .settings import SettingsForm
from .settings_options import load_options

if TYPE_CHECKING:
    from .host import ConsoleHost

ENVIRONMENT_CHOICES = (("Production keys (your real company)", "production"),
                       ("Development keys (Intuit sandbox companies)", "sandbox"))
STEPS = (("page-qbo", "QuickBooks"), ("page-autotask", "Autotask"), ("page-settings", "Settings"),
         ("page-review", "Review"))


def _esc(text: object) -> str:
    # Names and messages from the services: control characters shown (sync.text), literal in markup.
    return escape(shown(text))


def renewal_text(refresh_expires_at: float | None, now: float | None = None) -> str:
    """How long the QuickBooks connection has before it must be renewed (Intuit's refresh token
    lifetime; each use renews it, so a running console keeps it alive)."""
    if refresh_expires_at is None:
        return "renewal date unknown (Intuit renews the connection each time it is used; at most 100 days unused)"
    left = refresh_expires_at - (now if now is not None else time.time())
    if left <= 0:
        return "[b $error]expired: sign in again[/]"
    days = int(left // 86400)
    hours = int(left % 86400 // 3600)
    colour = "$error" if days < 7 else "$warning" if days < 30 else "$success"
    return f"[{colour}]{days} days {hours} h left[/] before it must be renewed"


class ConnectScreen(Screen):
    DEFAULT_CSS = """
    ConnectScreen #sign-in-caption, ConnectScreen #sign-in-address {
        display: none;
        height: auto;
        padding: 0;
        border: none;
    }
    ConnectScreen #sign-in-caption {
        padding: 0 1;
        background: $panel;
    }
    ConnectScreen #sign-in-address {
        max-height: 8;
        color: $text-accent;
    }
    ConnectScreen #sign-in-caption.-shown, ConnectScreen #sign-in-address.-shown {
        display: block;
    }
    ConnectScreen #review-doctor-status {
        margin-top: 1;
    }
    """
    BINDINGS = [
        Binding("ctrl+o", "sign_in", "Sign in to QBO", tooltip="Open Intuit's sign-in (shows the URL)."),
        Binding("ctrl+y", "copy_address", "Copy address", tooltip="Copy the sign-in address (OSC 52)."),
        Binding("ctrl+t", "test_autotask", "Test connection", tooltip="Check the Autotask credentials now."),
        Binding("ctrl+n", "next", "Next step", priority=True),
        Binding("ctrl+b", "previous", "Previous step", priority=True),
        Binding("ctrl+s", "connect", "Connect", priority=True, tooltip="Save all and start scanning."),
    ]

    def __init__(self) -> None:
        super().__init__(name="connect")
        self.step = 0
        self.sign_in: Any = None
        self.oauth: Any = None
        self.qbo: Any = None
        self.qbo_company = ""
        self.qbo_ok = False
        self.autotask: Any = None
        self.autotask_ok = False
        self.autotask_company = ""
        self.doctor_report: Any = None  # the review page's, once it ran

    @property
    def console(self) -> ConsoleHost:
        return self.app  # type: ignore[return-value]

    # ---------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        yield Static(id="connect-steps")
        with ContentSwitcher(initial="page-qbo", id="connect-body"):
            with VerticalScroll(id="page-qbo", classes="form connect-page") as page:
                page.border_title = "1. Sign in to QuickBooks Online"
                yield Static(id="qbo-current", classes="form-help")
                yield Label("Intuit app client id")
                yield Input(compact=True, id="qbo-client-id", placeholder="from your Intuit developer app's Keys tab")
                yield Static("", id="e-qbo-client-id", classes="field-error")
                yield Label("Intuit app client secret")
                yield Input(compact=True, id="qbo-client-secret", password=True, placeholder="(unchanged)")
                yield Static("", id="e-qbo-client-secret", classes="field-error")
                yield Label("Which keys")
                yield Select(ENVIRONMENT_CHOICES, id="qbo-environment", value="production", allow_blank=False,
                             compact=True)
                yield Label("Redirect URI, exactly as registered on the Intuit app (Keys & credentials)")
                yield Input(compact=True, id="qbo-redirect-uri",
                            placeholder="e.g. http://localhost:8765/callback or https://your-domain/…")
                yield Static("", id="e-qbo-redirect-uri", classes="field-error")
                yield Label("QuickBooks API URL (blank: Intuit's, for the keys chosen; the sandbox prints its own)")
                yield Input(compact=True, id="qbo-api-url")
                yield Label("Intuit authorization URL (blank: Intuit's)")
                yield Input(compact=True, id="qbo-auth-url")
                yield Label("Intuit token URL (blank: Intuit's)")
                yield Input(compact=True, id="qbo-token-url")
                yield Static("", id="e-qbo-urls", classes="field-error")
                yield Button("Sign in to QuickBooks (ctrl+o)", id="qbo-sign-in", variant="primary", compact=True)
                yield Static("", id="qbo-url")
                yield Label("Paste here the address the browser was sent to (after Connect on Intuit's page):")
                yield Input(compact=True, id="qbo-paste", placeholder="…?code=…&state=…&realmId=…")
                yield Static("", id="qbo-status")
            with VerticalScroll(id="page-autotask", classes="form connect-page") as page:
                page.border_title = "2. Autotask API user"
                yield Label("API user name")
                yield Input(compact=True, id="at-username", placeholder="e.g. atqbo@example.com")
                yield Static("", id="e-at-username", classes="field-error")
                yield Label("Integration code (tracking identifier)")
                yield Input(compact=True, id="at-code")
                yield Static("", id="e-at-code", classes="field-error")
                yield Label("Secret")
                yield Input(compact=True, id="at-secret", password=True, placeholder="(unchanged)")
                yield Static("", id="e-at-secret", classes="field-error")
                yield Label("Zone lookup URL (blank: Autotask's; the sandbox prints its own)")
                yield Input(compact=True, id="at-zone")
                yield Button("Test connection (ctrl+t)", id="at-test", variant="primary", compact=True)
                yield Static("", id="at-status")
            yield SettingsForm(id="page-settings")
            with VerticalScroll(id="page-review", classes="form connect-page") as page:
                page.border_title = "4. Review"
                yield Static(id="review")
                yield Button("Connect and start scanning (ctrl+s)", id="connect-go", variant="success", compact=True)
                yield Static("", id="review-doctor-status")
                yield DoctorView("", id="review-doctor")
        yield Static("Open this address in a browser and choose Connect (ctrl+y copies it):",
                     id="sign-in-caption")
        yield Static("", id="sign-in-address")
        with Horizontal(classes="buttons"):
            yield Button("Previous", id="connect-previous", compact=True)
            yield Button("Next", id="connect-next", variant="primary", compact=True)
        yield KeysFooter(compact=True)

    def on_mount(self) -> None:
        self.query_one("#page-settings", SettingsForm).border_title = "3. Settings"
        self._prefill()
        self._show_step()

    @work(thread=True, group="connect-read", exclusive=True, description="Reading the saved connection")
    def _prefill(self) -> None:
        store = self.console.store
        at = qb = None
        settings = None
        has_at_secret = has_qbo_secret = False
        try:
            at, qb = store.connection.get_autotask(), store.connection.get_qbo()
            has_at_secret = bool(store.secrets.get_autotask_secret())
            has_qbo_secret = bool(store.secrets.get_qbo_client_secret())
            settings = store.settings.load()
        except Exception as exc:
            self.app.call_from_thread(self.notify, str(exc), title="Saved connection unreadable", severity="error")
        self.app.call_from_thread(self._prefilled, at, qb, settings, has_at_secret, has_qbo_secret)

    def _prefilled(self, at: Any, qb: Any, settings: Any, has_at_secret: bool, has_qbo_secret: bool) -> None:
        if qb is not None:
            self.query_one("#qbo-client-id", Input).value = qb.client_id
            self.query_one("#qbo-api-url", Input).value = qb.api_url or ""
            self.query_one("#qbo-auth-url", Input).value = qb.auth_url or ""
            self.query_one("#qbo-token-url", Input).value = qb.token_url or ""
            self.query_one("#qbo-redirect-uri", Input).value = qb.redirect_uri or ""
            if qb.environment in ("production", "sandbox"):
                self.query_one("#qbo-environment", Select).value = qb.environment
        if not has_qbo_secret:
            self.query_one("#qbo-client-secret", Input).placeholder = ""
        if at is not None:
            self.query_one("#at-username", Input).value = at.username
            self.query_one("#at-code", Input).value = at.integration_code
            self.query_one("#at-zone", Input).value = at.zone_url or ""
        if not has_at_secret:
            self.query_one("#at-secret", Input).placeholder = ""
        if settings is not None:
            self.query_one(SettingsForm).load(settings)
        current = self.console.qbo
        if current is not None:
            tokens = getattr(getattr(current, "oauth", None), "tokens", None)
            expires = getattr(tokens, "refresh_expires_at", None)
            self.query_one("#qbo-current", Static).update(
                f"Connected now to company {_esc(current.realm_id)}: {renewal_text(expires)}.\n"
                "Reconnecting keeps your settings. Sign in again only to renew or change the company.")
        else:
            self.query_one("#qbo-current", Static).update(
                "Not connected yet. Enter your Intuit app's keys and the redirect URI registered on it, then "
                "sign in: atqbo shows the address to open, and listens on an http://localhost URI or reads "
                "the address you paste back (any other URI, SSH). Step by step: docs/connect.md.")

    # ---------------------------------------------------------------- steps

    def _show_step(self) -> None:
        page, _ = STEPS[self.step]
        self.query_one(ContentSwitcher).current = page
        parts = []
        for index, (_, title) in enumerate(STEPS):
            label = f"{index + 1} {title}"
            parts.append(f"[b reverse] {label} [/]" if index == self.step else f" {label} ")
        self.query_one("#connect-steps", Static).update(" › ".join(parts))
        self.query_one("#connect-previous", Button).disabled = self.step == 0
        self.query_one("#connect-next", Button).display = self.step < len(STEPS) - 1
        if page == "page-review":
            self._draw_review()
        for selector in ("#sign-in-caption", "#sign-in-address"):
            self.query_one(selector).set_class(page == "page-qbo" and self.sign_in is not None, "-shown")
        self.refresh_bindings()
        self._focus_step(page)

    def _focus_step(self, page: str) -> None:
        """Focus the step's own first field. The step left behind is hidden, but a hidden
        widget keeps the focus (and takes the keys) until another one takes it."""
        container = self.query_one(f"#{page}")
        first = {"page-qbo": "#qbo-client-id", "page-autotask": "#at-username",
                 "page-review": "#connect-go"}.get(page)
        target = self.query_one(first) if first else next(
            (w for w in container.query("*") if w.focusable and w.can_focus), None)
        if target is not None:
            target.focus()
        else:
            self.set_focus(None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        page = STEPS[self.step][0]
        if action == "sign_in":
            return page == "page-qbo"
        if action == "copy_address":
            return page == "page-qbo" and self.sign_in is not None
        if action == "test_autotask":
            return page == "page-autotask"
        if action == "next":
            return self.step < len(STEPS) - 1
        if action == "previous":
            return self.step > 0
        if action == "connect":
            return page == "page-review"
        return True

    @on(Button.Pressed, "#connect-next")
    def action_next(self) -> None:
        page = STEPS[self.step][0]
        if page == "page-qbo" and not self._qbo_ready():
            return
        if page == "page-autotask" and not self.autotask_ok:
            self._set_status("#at-status", "Test the connection first (ctrl+t): Next needs a working "
                                           "Autotask connection.", ok=False)
            return
        if page == "page-settings" and self.query_one(SettingsForm).collect() is None:
            self.notify("Some settings need attention (shown in red).", severity="error")
            return
        if page == "page-autotask":
            self._read_options()
        self.step = min(self.step + 1, len(STEPS) - 1)
        self._show_step()

    @on(Button.Pressed, "#connect-previous")
    def action_previous(self) -> None:
        self.step = max(self.step - 1, 0)
        self._show_step()

    def _qbo_ready(self) -> bool:
        if self.qbo_ok:
            return True
        if self.console.qbo is not None and self._field("#qbo-client-id") == getattr(
                getattr(self.console.qbo, "oauth", None), "client_id", None):
            return True  # reconnecting with the company already connected: keep it
        self._set_status("#qbo-status", "Sign in to QuickBooks first (ctrl+o).", ok=False)
        return False

    def _field(self, selector: str) -> str:
        return self.query_one(selector, Input).value.strip()

    def _set_status(self, selector: str, text: str, ok: bool | None) -> None:
        widget = self.query_one(selector, Static)
        widget.set_class(ok is True, "status-ok")
        widget.set_class(ok is False, "status-bad")
        widget.update(text)

    def _problem(self, selector: str, text: str) -> bool:
        error = self.query_one(f"#e-{selector[1:]}", Static)
        error.update(text)
        error.display = bool(text)
        if selector.startswith("#") and self.query(selector):
            self.query_one(selector).set_class(bool(text), "-invalid")
        return bool(text)

    # ---------------------------------------------------------------- QuickBooks

    @on(Button.Pressed, "#qbo-sign-in")
    def action_sign_in(self) -> None:
        from sync.clients.redirect_uri import RedirectUriError, check_redirect_uri

        client_id = self._field("#qbo-client-id")
        secret = self._field("#qbo-client-secret")
        bad = self._problem("#qbo-client-id", "" if client_id else "Required: the client id of your Intuit app.")
        if not secret and not self._stored_qbo_secret_usable(client_id):
            bad |= self._problem("#qbo-client-secret", "Required: the client secret of your Intuit app.")
        else:
            self._problem("#qbo-client-secret", "")
        environment = str(self.query_one("#qbo-environment", Select).value)
        redirect = None
        try:
            redirect = check_redirect_uri(self._field("#qbo-redirect-uri"), environment)
            self._problem("#qbo-redirect-uri", "")
        except RedirectUriError as exc:
            bad |= self._problem("#qbo-redirect-uri", _esc(f"{exc.rule[:1].upper()}{exc.rule[1:]}. {exc.fix}."))
        urls = {k: self._field(f"#qbo-{k}-url") for k in ("api", "auth", "token")}
        wrong = [k for k, v in urls.items() if v and not v.startswith(("http://", "https://"))]
        urls_error = self.query_one("#e-qbo-urls", Static)
        urls_error.update(f"The {', '.join(wrong)} URL must start with http:// or https://." if wrong else "")
        urls_error.display = bool(wrong)
        if bad or wrong or redirect is None:
            return
        self._set_status("#qbo-status", "Starting the sign-in…", ok=None)
        self._run_sign_in(client_id, secret, urls, redirect)

    def _stored_qbo_secret_usable(self, client_id: str) -> bool:
        return bool(self.query_one("#qbo-client-secret", Input).placeholder) and client_id != ""

    def action_copy_address(self) -> None:
        if self.sign_in is not None:
            # OSC 52: the terminal (also over SSH, in tmux with set-clipboard on) puts it on the
            # clipboard; a terminal without it ignores the sequence, and the address is on screen.
            self.app.copy_to_clipboard(self.sign_in.url)
            self.notify("Sign-in address sent to the clipboard (where the terminal allows OSC 52).",
                        title="Copied", timeout=4)

    def _show_address(self, url: str | None) -> None:
        address = self.query_one("#sign-in-address", Static)
        address.update(_esc(url or ""))
        address.set_class(bool(url), "-shown")
        self.query_one("#sign-in-caption").set_class(bool(url), "-shown")

    @work(group="qbo-sign-in", exclusive=True, exit_on_error=False, description="Signing in to QuickBooks")
    async def _run_sign_in(self, client_id: str, secret: str, urls: dict[str, str], redirect: Any) -> None:
        from sync.endpoints import intuit_endpoints, persist_tokens
        from sync.clients.errors import ApiError
        from sync.clients.oauth import IntuitOAuth
        from sync.clients.qbo import QboClient
        from sync.clients.redirect_uri import default_api_url
        from sync.clients.signin import start_sign_in
        from sync.store import QboConnection

        store = self.console.store
        if not secret:
            stored = store.secrets.get_qbo_client_secret()
            secret = stored.get_secret_value() if stored else ""
        if self.sign_in is not None:
            await self.sign_in.aclose()  # a new attempt replaces the old one (and frees its port)
            self.sign_in = None
        try:
            oauth = IntuitOAuth(client_id, secret, endpoints=intuit_endpoints(urls["auth"] or None, urls["token"] or None),
                                on_tokens=persist_tokens(store))
            self.sign_in = await start_sign_in(oauth, redirect)
        except (ApiError, ValueError, OSError) as exc:
            self._set_status("#qbo-status", f"Could not start the sign-in: {_esc(exc)}", ok=False)
            return
        if self.sign_in.listening:
            how = (f"atqbo listens on {_esc(redirect.uri)}. Browser on another machine? Forward the port "
                   f"(ssh -L {redirect.listen_port}:localhost:{redirect.listen_port}) or paste the address below.")
        else:
            how = "After Connect, copy the address the browser was sent to (it need not load) and paste it below."
        self.query_one("#qbo-url", Static).update(
            "Open the address shown under this page in a browser (ctrl+y copies it) and choose Connect. " + how)
        self._show_address(self.sign_in.url)
        self.app.copy_to_clipboard(self.sign_in.url)
        self.refresh_bindings()
        self._set_status("#qbo-status", "Waiting for Intuit's answer…", ok=None)
        paste = self.query_one("#qbo-paste", Input)
        if not self.sign_in.listening:
            paste.focus()  # the next thing to do is paste the address the browser shows
        self.call_after_refresh(lambda: self.query_one("#qbo-status").scroll_visible(animate=False))
        try:
            tokens = await self.sign_in.result()
            qbo = QboClient(oauth, tokens.realm_id, api_url=urls["api"] or default_api_url(redirect.environment))
            info = await qbo.company_info()
        except (ApiError, ValueError) as exc:
            self._set_status("#qbo-status", f"Not connected: {_esc(exc)}", ok=False)
            return
        finally:
            self.sign_in = None
            self._show_address(None)
            self.refresh_bindings()
        store.connection.set_qbo(QboConnection(client_id, tokens.realm_id, urls["api"] or None,
                                               urls["auth"] or None, urls["token"] or None,
                                               redirect.uri, redirect.environment))
        store.secrets.set_qbo_client_secret(secret)
        self.oauth, self.qbo, self.qbo_ok = oauth, qbo, True
        self.qbo_company = str(info.get("CompanyName") or tokens.realm_id)
        self.query_one("#qbo-url", Static).update("")
        self._set_status("#qbo-status", f"Connected to {_esc(self.qbo_company)} (company {tokens.realm_id}); "
                                        f"{renewal_text(tokens.refresh_expires_at)}.", ok=True)

    @on(Input.Submitted, "#qbo-paste")
    def _pasted(self, event: Input.Submitted) -> None:
        from sync.clients.errors import SignInError

        if self.sign_in is None:
            self._set_status("#qbo-status", "Start the sign-in first (ctrl+o), then paste the address.", ok=False)
            return
        try:
            self.sign_in.paste(event.value)
        except SignInError as exc:
            self._set_status("#qbo-status", f"That address does not complete the sign-in: {_esc(exc)}", ok=False)
            return
        event.input.value = ""
        self._set_status("#qbo-status", "Address accepted; finishing the sign-in…", ok=None)

    # ---------------------------------------------------------------- Autotask

    @on(Input.Changed, "#at-username, #at-code, #at-secret, #at-zone")
    def _autotask_changed(self) -> None:
        if self.autotask_ok:
            self.autotask_ok = False
            self._set_status("#at-status", "Changed: test the connection again.", ok=None)

    @on(Button.Pressed, "#at-test")
    def action_test_autotask(self) -> None:
        username, code = self._field("#at-username"), self._field("#at-code")
        secret, zone = self._field("#at-secret"), self._field("#at-zone")
        bad = self._problem("#at-username", "" if username else "Required: the API user's name.")
        if username and ("@" not in username or " " in username):
            bad |= self._problem("#at-username", "An Autotask API user name looks like name@domain (no spaces).")
        bad |= self._problem("#at-code", "" if code else "Required: the integration code (tracking identifier).")
        if not secret and not self.query_one("#at-secret", Input).placeholder:
            bad |= self._problem("#at-secret", "Required: the API user's secret.")
        else:
            self._problem("#at-secret", "")
        if zone and not zone.startswith(("http://", "https://")):
            self._set_status("#at-status", "The zone lookup URL must start with http:// or https://.", ok=False)
            return
        if bad:
            return
        self._set_status("#at-status", "Testing…", ok=None)
        self._test_autotask(username, code, secret, zone)

    @work(group="autotask-test", exclusive=True, exit_on_error=False, description="Testing the Autotask connection")
    async def _test_autotask(self, username: str, code: str, secret: str, zone: str) -> None:
        from sync.clients.autotask_connect import AutotaskConnectFailed, check_autotask_connection, connect_client
        from sync.endpoints import zone_lookup_base

        if not secret:
            stored = self.console.store.secrets.get_autotask_secret()
            secret = stored.get_secret_value() if stored else ""
        client = None
        try:
            # The same test, words and retries as `atqbo connect autotask`.
            client = connect_client(username, code, secret, zone_lookup_base(zone or None))
            connected = await check_autotask_connection(client)
        except Exception as exc:  # the test's own words; anything else still answers, never hangs on "Testing…"
            if client is not None:
                await client.aclose()
            self.autotask_ok = False
            words = exc.message if isinstance(exc, AutotaskConnectFailed) else f"The test failed: {exc}"
            self._set_status("#at-status", _esc(words), ok=False)
            return
        if self.autotask is not None:
            await self.autotask.aclose()
        self.autotask, self.autotask_ok = client, True
        self.autotask_secret = secret
        self.autotask_company = connected.local_organization
        self._set_status("#at-status", f"Connected to Autotask ({_esc(connected.zone.url)}) as {_esc(username)}; "
                                       f"local organization: {_esc(self.autotask_company)}.", ok=True)

    # ---------------------------------------------------------------- settings and review

    @work(group="connect-options", exclusive=True, exit_on_error=False,
          description="Reading accounts, action types and resources")
    async def _read_options(self) -> None:
        qbo = self.qbo or self.console.qbo
        options, problems = await load_options(self.autotask or self.console.autotask, qbo)
        self.query_one(SettingsForm).set_options(options, problems)

    def _draw_review(self) -> None:
        form = self.query_one(SettingsForm)
        lines = [
            f"[b]QuickBooks Online:[/b] {_esc(self.qbo_company or 'the company connected before')}",
            f"[b]Autotask:[/b] {_esc(self._field('#at-username'))} — {_esc(self.autotask_company)}",
            "", "[b]Settings[/b]",
        ]
        for key in ("days_back", "po_number_source", "scan_interval_minutes", "missing_item",
                    "new_item_expense_account", "ap_account", "todo_action_type", "todo_resource", "notify_email"):
            widget = form.query_one(f"#f-{key}")
            shown = form.raw_value(key)
            if hasattr(widget, "_options"):
                for label, value in widget._options:  # type: ignore[attr-defined]
                    if value == shown:
                        shown = str(label)
            lines.append(f"  {key:<26} {_esc(shown) or '—'}")
        lines += ["", "Connect saves all of this and starts the first scan at once."]
        self.query_one("#review", Static).update("\n".join(lines))
        self._review_doctor(form)

    def _review_doctor(self, form: SettingsForm) -> None:
        """Below the review: the doctor on what would be saved (read-only), so a PO that would
        fail is known before the first scan."""
        status = self.query_one("#review-doctor-status", Static)
        settings = form.collect()
        if settings is None:
            status.update("The doctor checks the first scan once the settings are complete (step 3).")
            self.query_one(DoctorView).show_message("")
            return
        status.update("[b $warning]Doctor: checking what the first scan would do…[/] (read-only)")
        produce = self.console.doctor(settings=settings, autotask=self.autotask if self.autotask_ok else None,
                                      qbo=self.qbo if self.qbo_ok else None)
        self._run_doctor(produce)

    @work(group="connect-doctor", exclusive=True, exit_on_error=False, description="Doctor")
    async def _run_doctor(self, produce: Any) -> None:
        status, view = self.query_one("#review-doctor-status", Static), self.query_one(DoctorView)
        try:
            report = await produce()
        except Exception as exc:  # noqa: BLE001 (said on the page: Connect still works)
            status.update("[b $error]The doctor could not check the first scan:[/]")
            view.show_message(str(exc) or type(exc).__name__)
            return
        self.doctor_report = report
        status.update("Doctor: " + verdict_markup(report))
        view.show_report(report)

    @on(Button.Pressed, "#connect-go")
    def action_connect(self) -> None:
        settings = self.query_one(SettingsForm).collect()
        if settings is None:
            self.step = 2
            self._show_step()
            return
        self._connect(settings, self.query_one(SettingsForm).smtp_password())

    @work(group="connect-save", exclusive=True, exit_on_error=False, description="Connecting")
    async def _connect(self, settings: Any, smtp_password: str | None) -> None:
        from sync.store import AutotaskConnection

        store = self.console.store
        self.workers.cancel_group(self, "connect-doctor")  # it reads with the clients closed below
        try:
            if self.autotask_ok:
                zone = self._field("#at-zone") or None
                store.connection.set_autotask(AutotaskConnection(self._field("#at-username"), self._field("#at-code"),
                                                                 zone))
                store.secrets.set_autotask_secret(self.autotask_secret)
            store.settings.save(settings)
            if smtp_password:
                store.secrets.set_smtp_password(smtp_password)
        except OSError as exc:  # disk full, read-only folder: named by the store; Connect again after the fix
            self.notify(f"{exc}\nThen press Connect again.", title="Not saved", severity="error", timeout=20)
            return
        for client in (self.autotask, self.qbo):
            if client is not None:
                await client.aclose()
        self.autotask = self.qbo = None
        data_dir = store.locations.data_dir if self.console.demo else self.console.data_dir
        # The old runtime holds the store (and maybe the engine lock): let go before reopening.
        await self.console.release_runtime()
        try:
            await self.console.reopen_runtime(data_dir)
        except Exception as exc:
            self.notify(str(exc), title="Could not connect", severity="error", timeout=15)
