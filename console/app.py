"""The Textual app: wiring only. It owns the runtime (store, clients, engine) and the
engine-control interface over it (sync.control: the screens reach the engine only through it),
runs the engine as a named worker in its own event loop, collects engine events in an inbox
(one `EngineEventsArrived` message per burst, screens.messages), folds them into the live state
and tells the screens what changed, at most every FLUSH_S.

Screens are modes (live, logs, sync_one, settings, connect), each keeping its state while the
operator moves between them; help and log details are modal screens on top.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from screens import messages as msg
from screens.connect import ConnectScreen
from screens.live import LiveScreen
from screens.logs import LogsScreen
from screens.reconcile import ReconcileScreen
from screens.settings import SettingsScreen
from screens.state import LiveState
from screens.sync_one import SyncOneScreen
from sync import events as ev
from sync.control.api import CommandFailed, CommandRefused, EngineControl, Resynced, SyncOutcome
from sync.control.call_window import CallWindow
from sync.text import shown

from .commands import AtqboCommands, PaletteCommand

Clock = Callable[[], datetime]

NAV = (("live", "Live"), ("logs", "Logs"), ("sync_one", "Sync one PO"), ("settings", "Settings"),
       ("connect", "Connect"), ("reconcile", "Reconcile"))


# The five screen keys show as one footer entry ("1 2 3 4 5 Screens") to save footer room.
SCREENS = Binding.Group("Screens")
FLUSH_S = 0.1  # the live screen shows engine events within 100 ms, batched (a scan is a storm)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class AtqboApp(App[int]):
    """The operator console."""

    CSS_PATH = "app.tcss"
    TITLE = "atqbo"
    COMMANDS = {AtqboCommands}
    COMMAND_PALETTE_BINDING = "ctrl+p"

    MODES = {"live": LiveScreen, "logs": LogsScreen, "sync_one": SyncOneScreen,
             "settings": SettingsScreen, "connect": ConnectScreen, "reconcile": ReconcileScreen}

    BINDINGS = [
        Binding("question_mark,f1", "help", "Help", id="help", tooltip="Keys and what each screen is for."),
        Binding("1", "go('live')", "Live", id="go-live", group=SCREENS, tooltip="The current scan and what it did."),
        Binding("2", "go('logs')", "Logs", id="go-logs", group=SCREENS, tooltip="Errors and outcomes; retry."),
        Binding("3", "go('sync_one')", "Sync PO", id="go-sync-one", group=SCREENS, tooltip="Sync one PO by its id."),
        Binding("4", "go('settings')", "Settings", id="go-settings", group=SCREENS, tooltip="What the sync does."),
        Binding("5", "go('connect')", "Connect", id="go-connect", group=SCREENS, tooltip="Sign in again (keeps the settings)."),
        # Not in the footer's screen group (room): in the help, the command palette and key 6.
        Binding("6", "go('reconcile')", "Reconcile", id="go-reconcile", show=False,
                tooltip="Compare the bills atqbo made with Autotask (read-only)."),
        Binding("escape", "back", "Back", id="back", tooltip="Close this, or go back to the live screen."),
        Binding("q", "quit", "Quit", id="quit",
                tooltip="Stop the engine (after the PO in flight) and quit; attached, the service keeps running."),
        Binding("e", "run_here", "Run the engine here", id="run-here",
                tooltip="The service stopped: run the engine in this console instead."),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="quit-now"),
    ]

    def __init__(self, runtime: Any = None, *, runtime_factory: Callable[[], Awaitable[Any]] | None = None,
                 demo: bool = False, clock: Clock | None = None, local_times: bool = True,
                 start_engine: bool = True, data_dir: Path | None = None, serve_control: bool = False) -> None:
        super().__init__()
        self.runtime = runtime
        self.runtime_factory = runtime_factory
        self.demo = demo
        self.data_dir = data_dir
        self.now: Clock = clock or _utcnow
        self.local_times = local_times
        self.start_engine = start_engine
        self.serve_control = serve_control  # a console running the engine serves its control socket
        self.service_gone = False  # attached, and the service stopped under us
        self._control_server: Worker | None = None
        self.live = LiveState()
        self.control: EngineControl | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._engine_worker: Worker | None = None
        self._calls = CallWindow()
        self._sync_one_po: int | None = None
        self.runtime_closed = False
        self._pending_rows: dict[int, None] = {}  # ordered, like the rows
        self._pending_redraw = False
        self._flush_timer: Any = None
        self._last_flush = 0.0
        self._hidden_rows: dict[int, None] = {}
        self._hidden_dirty = False
        self._engine_inbox: deque[ev.Event] = deque()  # see msg.EngineEventsArrived
        self._inbox_posted = False

    # ---------------------------------------------------------------- runtime parts

    @property
    def store(self) -> Any:
        return self.runtime.store

    @property
    def engine(self) -> Any:
        return getattr(self.runtime, "engine", None)

    @property
    def autotask(self) -> Any:
        return getattr(self.runtime, "autotask", None)

    @property
    def qbo(self) -> Any:
        return getattr(self.runtime, "qbo", None)

    @property
    def connected(self) -> bool:
        return self.control is not None

    @property
    def attached(self) -> bool:
        return self.control is not None and self.control.capabilities.remote

    def _make_control(self) -> None:
        """The in-process control over the runtime, once it has an engine and its clients."""
        runtime = self.runtime
        remote = getattr(runtime, "control", None)
        if self.control is None and remote is not None:
            self.control = remote  # attached to a running service
            return
        if self.control is None and runtime is not None and self.engine is not None and \
                self.autotask is not None and self.qbo is not None:
            from sync.control.local import LocalEngineControl

            self.control = LocalEngineControl(runtime, demo=self.demo)

    # ---------------------------------------------------------------- start and stop

    def on_mount(self) -> None:
        self.set_interval(1.0, self._sample_calls, name="api-budget-sampler")
        if self.runtime is None and self.runtime_factory is not None:
            self.switch_mode("live")  # shows "Starting…" while the runtime opens
            self._open_runtime()
        else:
            self._runtime_ready()

    @work(group="startup", exit_on_error=False,
          description="Opening the data folder and connecting (starting the sandbox for --demo)")
    async def _open_runtime(self) -> None:
        from console.startup import StartupError

        assert self.runtime_factory is not None
        try:
            self.runtime = await self.runtime_factory()
        except StartupError as exc:
            # After the next refresh: the live screen ("Starting…") finishes mounting first, so
            # the message is all the operator sees (exiting mid-mount added a second error).
            self.call_after_refresh(self.exit, exc.exit_code, message=f"atqbo: {exc}")
            return
        except Exception as exc:
            self.call_after_refresh(self.exit, 1, message=f"atqbo: cannot start: {type(exc).__name__}: {exc}")
            return
        self._runtime_ready()

    def _runtime_ready(self) -> None:
        # The store's indexes (100,000 log entries are ~1M objects) live as long as the app:
        # take them out of the cyclic collector's full passes, which would pause the UI.
        gc.collect()
        gc.freeze()
        self._make_control()
        self._calls.clear()
        self._sample_calls()  # the baseline for "API used" before the engine sends anything
        for notice in getattr(self.store, "notices", ()):  # the data folder was open to others, ...
            self.notify(notice, title="Data folder", severity="warning", timeout=15)
        if self.connected:
            if self.current_mode != "live":
                self.switch_mode("live")
            if self.attached:
                self.start_engine_worker()  # follows the service; the header says "attached"
            elif self.start_engine:
                self.start_engine_worker()
        else:
            self.switch_mode("connect")

    def start_engine_worker(self) -> None:
        if self._engine_worker is not None and self._engine_worker.state == WorkerState.RUNNING:
            return
        assert self.control is not None
        if self.engine is not None:
            self.engine.origin = "console"  # for each PO's story (atqbo why)
        self._unsubscribe = self.control.subscribe(self._engine_event)
        self._engine_worker = self._run_engine()
        if self.serve_control and not self.attached and self._control_server is None:
            self._control_server = self._serve_control()

    @work(group="control-socket", exit_on_error=False, description="Serving the control socket")
    async def _serve_control(self) -> None:
        """The engine runs here: scripts and other consoles reach it as they would a daemon."""
        from sync.control.server import ControlServer, SocketBusy

        path = self.store.locations.control_socket
        self._control_stop = asyncio.Event()
        try:
            async with ControlServer(self.control, path):  # type: ignore[arg-type]
                await self._control_stop.wait()
        except (SocketBusy, OSError) as exc:
            self.notify(f"Other consoles cannot attach: {exc}", title="Control socket", severity="warning")

    def _engine_event(self, event: ev.Event) -> None:
        # Called by the engine, in this loop or from a thread (deque.append and post_message are
        # thread-safe). One message per batch, not per event: see msg.EngineEventsArrived.
        self._engine_inbox.append(event)
        if not self._inbox_posted:
            self._inbox_posted = True
            self.post_message(msg.EngineEventsArrived())

    @work(group="engine", exclusive=True, exit_on_error=False, description="Sync engine: scans on schedule")
    async def _run_engine(self) -> None:
        control = self.control
        assert control is not None
        await control.run()
        if control.capabilities.remote and getattr(control, "stopped_by_service", False):
            self.post_message(msg.ServiceStopped(control.status().pid, getattr(control, "bye", "")))

    @on(msg.ServiceStopped)
    def _service_stopped(self, message: msg.ServiceStopped) -> None:
        self.service_gone = True
        self.live.engine = "stopped"
        self.live.stop_reason = f"the service (pid {message.pid}) stopped"
        self.notify(f"The service (pid {message.pid}) stopped. Press e to run the engine in this console.",
                    title="Service stopped", severity="warning", timeout=30)
        self._tell_live((), urgent=True)
        self.refresh_bindings()

    async def action_run_here(self) -> None:
        """After the service stopped: open the data folder here and run the engine ourselves."""
        if not self.service_gone:
            return
        old = self.runtime
        self.control = None
        self._engine_worker = None
        self._unsubscribe = None
        if old is not None:
            try:
                await old.aclose()
            except Exception:
                pass
        self.service_gone = False
        try:
            await self.reopen_runtime(self.data_dir)
        except Exception as exc:
            self.service_gone = True
            self.notify(str(exc), title="Cannot run the engine here", severity="error", timeout=15)
            return
        if not self.connected:
            await self.switch_mode("connect")

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state != WorkerState.ERROR:
            return
        error = worker.error
        text = f"{type(error).__name__}: {error}" if error is not None else "unknown error"
        if worker.group == "engine":
            self.post_message(msg.EngineFailed(text))
        else:
            self.notify(shown(text), title=worker.description or "Background work failed", severity="error",
                        timeout=10, markup=False)

    @on(msg.EngineFailed)
    def _engine_failed(self, message: msg.EngineFailed) -> None:
        self.live.engine = "failed"
        self.live.stop_reason = shown(message.error)
        self.notify(shown(message.error), title="The sync engine stopped", severity="error", timeout=15,
                    markup=False)
        self._tell_live(())

    async def action_quit(self) -> None:
        await self.shutdown()
        close = getattr(self.runtime, "aclose", None)
        if close is not None:
            try:
                await close()
            except Exception:
                pass
            self.runtime_closed = True
        self.exit(0)

    async def shutdown(self) -> None:
        control = self.control
        if control is not None and self._engine_worker is not None and self._engine_worker.is_running:
            try:
                await asyncio.wait_for(control.stop(), timeout=10)
            except Exception:  # stopping must never keep the operator from quitting
                pass
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._control_server is not None:
            # Let the server say goodbye to its clients and remove its socket before we go.
            stop = getattr(self, "_control_stop", None)
            if stop is not None:
                stop.set()
            try:
                await asyncio.wait_for(self._control_server.wait(), timeout=5)
            except Exception:
                self._control_server.cancel()
            self._control_server = None

    # ---------------------------------------------------------------- engine events

    @on(msg.EngineEventsArrived)
    def _engine_events_arrived(self) -> None:
        # Clear the flag first: an event appended from now on posts a new message.
        self._inbox_posted = False
        if not self.is_running:
            self._engine_inbox.clear()
            return  # events still in flight while the app shuts down
        changed: dict[int, None] = {}  # ordered: new rows appear in the order the POs did
        urgent = log_changed = False
        now = self.now()
        inbox = self._engine_inbox
        while inbox:
            event = inbox.popleft()
            if isinstance(event, Resynced):
                # Attached (or fallen behind): start again from the service's view of the scan.
                self.live = LiveState()
                for past in event.replay:
                    self.live.apply(past, now)
                changed.clear()
                urgent = log_changed = True
                live = self._mode_screen("live")
                if live is not None:
                    live.redraw_all()  # type: ignore[attr-defined]
                continue
            rows = self.live.apply(event, now)
            changed.update(dict.fromkeys(rows))
            # What the operator just asked for (pause, resume) shows at once; the rest is batched.
            urgent = urgent or isinstance(event, (ev.Paused, ev.Resumed))
            if isinstance(event, (ev.PoFailed, ev.RetryStarted, ev.RetryFinished)) or (
                    isinstance(event, ev.PoSynced) and event.po_id in rows
                    and self.live.rows[event.po_id].source != "scan"):  # a scan's success has no log entry
                log_changed = True
            if isinstance(event, ev.PoStarted) and event.po_id == self._sync_one_po:
                sync_one = self._mode_screen("sync_one")
                if sync_one is not None:
                    sync_one.show_progress(f"Syncing PO {shown(event.po_number or event.po_id)}…")  # type: ignore[attr-defined]
            if isinstance(event, ev.ScanStopped):
                self.notify(f"{shown(event.cause)}\n{shown(event.fix)}", title="Scan stopped", severity="error",
                            timeout=10, markup=False)
        self._tell_live(tuple(changed), urgent=urgent)
        if log_changed:
            forget = getattr(self.control, "log_changed", None)
            if forget is not None:
                forget()  # the local control's cached text search
            logs = self._mode_screen("logs")
            if logs is not None:
                logs.log_changed()  # type: ignore[attr-defined]

    def _tell_live(self, changed: tuple[int, ...], urgent: bool = False) -> None:
        # Events come in bursts (three or four per PO); the screen is redrawn at most every
        # FLUSH_S with everything that changed meanwhile, so the engine keeps the loop.
        self._pending_rows.update(dict.fromkeys(changed))
        self._pending_redraw = True
        if urgent:
            # The status line answers the key at once; the rows follow with the next batch
            # (redrawing the table in the same frame would delay the answer).
            live = self._mode_screen("live")
            if live is not None and self.screen is live:
                live.activity_changed()  # type: ignore[attr-defined]
        if self._flush_timer is not None:
            return
        wait = self._last_flush + FLUSH_S - time.monotonic()
        if wait <= 0:
            self._flush_live()  # the first event after a quiet spell shows at once
        else:
            self._flush_timer = self.set_timer(wait, self._flush_live, name="live-flush")

    def _flush_live(self) -> None:
        self._flush_timer = None
        self._last_flush = time.monotonic()
        rows, self._pending_rows = tuple(self._pending_rows), {}
        self._pending_redraw = False
        live = self._mode_screen("live")
        if live is None:
            return
        if self.screen is not live:
            # Not on show (another screen, or a modal on top): keep the work for when it is.
            self._hidden_rows.update(dict.fromkeys(rows))
            self._hidden_dirty = True
            return
        if rows:
            live.rows_changed(rows)  # type: ignore[attr-defined]
        else:
            live.activity_changed()  # type: ignore[attr-defined]

    def live_shown(self) -> None:
        """The live screen is on show again: draw what changed while it was hidden."""
        if not self._hidden_dirty:
            return
        self._pending_rows.update(self._hidden_rows)
        self._hidden_rows.clear()
        self._hidden_dirty = False
        self._last_flush = 0.0
        self._tell_live((), urgent=True)

    def _mode_screen(self, mode: str) -> Screen | None:
        """The mounted screen of a mode, if it has been opened."""
        stack = self._screen_stacks.get(mode) or []
        screen = stack[0] if stack else None
        return screen if screen is not None and screen.is_mounted else None

    def _sample_calls(self) -> None:
        if self.control is not None:
            calls = self.control.status().api_calls
            at, qb = calls.get("autotask", 0), calls.get("qbo", 0)
        else:
            at, qb = getattr(self.autotask, "calls", 0) or 0, getattr(self.qbo, "calls", 0) or 0
        self._calls.sample(at, qb)

    def autotask_budget(self) -> dict[str, Any]:
        return dict(self.control.status().autotask_budget) if self.control is not None else {}

    def calls_in_window(self, seconds: float) -> tuple[int, int]:
        """API requests sent to (Autotask, QBO) in the last `seconds`."""
        return self._calls.used(seconds)

    # ---------------------------------------------------------------- what screens ask for

    def _command(self, awaitable: Awaitable[Any], what: str) -> None:
        """Send a command down the control in a worker; a refusal or failure is said in a toast."""

        async def send() -> None:
            try:
                await awaitable
            except (CommandRefused, CommandFailed) as exc:
                self.notify(shown(exc), title=f"{what}: not done", severity="warning", timeout=8, markup=False)

        self.run_worker(send(), group="control", exit_on_error=False, description=what)

    def scan_now(self) -> None:
        if self.control is not None:
            self._command(self.control.scan_now(), "Scan now")
            self.notify("A scan starts now.", timeout=3)

    def pause_engine(self) -> None:
        if self.control is not None:
            self._command(self.control.pause(), "Pause")

    def resume_engine(self) -> None:
        if self.control is not None:
            self._command(self.control.resume(), "Resume")

    def sync_one(self, po_id: int, alt_email: str | None) -> None:
        self._sync_one_po = po_id
        self._sync_one(po_id, alt_email)

    @work(group="sync-one", exit_on_error=False, description="Syncing one purchase order")
    async def _sync_one(self, po_id: int, alt_email: str | None) -> None:
        try:
            assert self.control is not None
            finished = _sync_one_result(await self.control.sync_one(po_id, alt_email))
        except Exception as exc:
            finished = msg.SyncOneFinished(po_id, ok=False, cause=str(exc) or type(exc).__name__)
        self._sync_one_po = None
        self.post_message(finished)

    @on(msg.SyncOneFinished)
    def _sync_one_finished(self, message: msg.SyncOneFinished) -> None:
        screen = self._mode_screen("sync_one")
        if screen is not None:
            screen.finished(message)  # type: ignore[attr-defined]

    def retry(self, log_id: str) -> None:
        from sync.ids import IdError, parse_log_id

        try:
            log_id_number = parse_log_id(str(log_id))  # the one parser for log ids
        except IdError:
            return
        if self.control is None:
            return
        self.notify(f"Retrying log entry {log_id}…", timeout=3)
        self._command(self.control.retry(log_id_number), "Retry")

    def retry_all(self) -> None:
        if self.control is None:
            return
        self.notify("Retrying every open error…", timeout=3)
        self._command(self.control.retry_all(), "Retry all")

    def demo_fix(self, entry: Any) -> None:
        if not self.demo or self.control is None or not self.control.capabilities.demo_fix:
            return
        self._demo_fix(entry)

    @work(group="demo-fix", exit_on_error=False, description="Demo: fixing a cause in the sandbox")
    async def _demo_fix(self, entry: Any) -> None:
        from screens.demo_fix import DemoFixError, fix_cause

        try:
            text = await fix_cause(self.runtime, entry)
        except DemoFixError as exc:
            self.notify(shown(exc), title="Demo: not fixed", severity="warning", timeout=8, markup=False)
            return
        self.notify(shown(text) + "\nNow press r to retry it.", title="Demo: fixed in the sandbox", timeout=8,
                    markup=False)

    def settings_saved(self, changed: tuple[str, ...]) -> None:
        names = ", ".join(changed) if changed else "nothing changed"
        self.notify(f"Saved ({names}). The next scan uses them.", title="Settings", timeout=5)

    def show_log_entry(self, log_id: str) -> None:
        self._open_log_entry(log_id)

    @work(group="log-entry", exclusive=True, exit_on_error=False, description="Reading a log entry")
    async def _open_log_entry(self, log_id: str) -> None:
        if self.control is None:
            return
        entry = await self.control.log_entry(log_id)
        if entry is not None:
            self._push_log_entry(entry)

    def _push_log_entry(self, entry: Any) -> None:
        from screens.logs import LogEntryScreen

        def chosen(choice: str | None) -> None:
            if choice == "retry":
                self.retry(entry.id)
            elif choice == "fix":
                self.demo_fix(entry)

        self.push_screen(LogEntryScreen(entry, demo=self.demo, local_times=self.local_times), chosen)

    async def release_runtime(self) -> None:
        """Stop the engine and close the clients and the store (the connect screen reopens them).
        In the demo the sandbox and its temporary folder are kept for the new runtime."""
        await self.shutdown()
        if self._engine_worker is not None:
            self._engine_worker.cancel()
            self._engine_worker = None
        close_control = getattr(self.control, "close", None)
        if close_control is not None:
            close_control()
        self.control = None
        old = self.runtime
        if self.attached or getattr(old, "store", None) is None:
            await old.aclose()
            return
        self._kept_demo = (getattr(old, "sandbox_server", None), getattr(old, "_temp", None))
        for closer in (getattr(old.autotask, "aclose", None), getattr(old.qbo, "aclose", None),
                       getattr(getattr(old.qbo, "oauth", None), "aclose", None)):
            if closer is not None:
                try:
                    await closer()
                except Exception:
                    pass
        for extra in getattr(old, "extra", []) or []:
            try:
                await extra.aclose()
            except Exception:
                pass
        old.store.close()

    async def reopen_runtime(self, data_dir: Path | None) -> None:
        """After the connect screen saved a new connection: open the runtime again (the demo's
        data folder is its temporary one) and start scanning."""
        from console.startup import open_console_runtime

        await self.reconnected(await open_console_runtime(data_dir, False))

    async def reconnected(self, runtime: Any) -> None:
        """The connect screen made a new connection: adopt its runtime, start scanning."""
        server, temp = getattr(self, "_kept_demo", (None, None))
        if server is not None and getattr(runtime, "sandbox_server", None) is None:
            runtime.sandbox_server = server
        if temp is not None and hasattr(runtime, "_temp") and runtime._temp is None:
            runtime._temp = temp
        self.runtime = runtime
        self.control = None
        self._make_control()
        self.live = LiveState()
        await self.switch_mode("live")
        live = self._mode_screen("live")
        if live is not None:
            live.redraw_all()  # type: ignore[attr-defined]
        if self.start_engine:
            self.start_engine_worker()

    # ---------------------------------------------------------------- the audit trail

    async def po_story(self, po_id: int) -> Any:
        from sync.audit.why import why

        store = self.store
        return await asyncio.to_thread(why, store, po_id)

    async def reconcile(self) -> Any:
        from sync.audit.reconcile import reconcile

        if self.autotask is None or self.qbo is None:
            raise RuntimeError("attached to a running service: run `atqbo reconcile` on its machine")
        return await reconcile(self.store, self.autotask, self.qbo)

    # ---------------------------------------------------------------- navigation

    def action_go(self, mode: str) -> None:
        if mode == "connect" and self.attached:
            self.notify("Attached to the running service: its connection is changed where it runs "
                        "(stop the service, then connect here).", severity="warning")
            return
        if mode != "connect" and not self.connected:
            self.notify("Connect first: QuickBooks Online and Autotask.", severity="warning")
            return
        if self.current_mode != mode:
            self.switch_mode(mode)

    def go_back(self) -> None:
        if self.connected and self.current_mode != "live":
            self.switch_mode("live")

    def action_back(self) -> None:
        if len(self.screen_stack) > 1:
            self.pop_screen()
        else:
            self.go_back()

    def action_help(self) -> None:
        from screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.screen))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "go":
            (mode,) = parameters
            if mode == self.current_mode:
                return False  # no key for where you already are
            if mode == "connect" and self.attached:
                return None  # the service's connection is not ours to change
            return True if (mode == "connect" or self.connected) else None
        if action == "run_here":
            return self.service_gone
        if action == "back":
            return len(self.screen_stack) > 1 or (self.connected and self.current_mode != "live")
        return True

    # ---------------------------------------------------------------- command palette

    def palette_commands(self, screen: Screen) -> list[PaletteCommand]:
        from screens.help import HelpScreen
        from screens.links import LinksScreen
        from screens.logs import LogsScreen

        out: list[PaletteCommand] = []
        for mode, title in NAV:
            if mode != self.current_mode and (mode == "connect" or self.connected) and not (
                    mode == "connect" and self.attached):
                out.append(PaletteCommand(f"go: {title}", lambda m=mode: self.action_go(m),
                                          f"Open the {title} screen"))
        if self.connected:
            state = self.live.engine
            if state in ("idle", "paused"):
                out.append(PaletteCommand("run: Scan now", self.scan_now, "Start a scan without waiting"))
            if state == "paused":
                out.append(PaletteCommand("run: Resume the scheduler", self.resume_engine, "Scans start again"))
            elif state not in ("stopped", "failed"):
                out.append(PaletteCommand("run: Pause the scheduler", self.pause_engine, "No new scan starts"))
            out.append(PaletteCommand("log: Retry all open errors", self.retry_all,
                                      "Re-run every failed PO with the current settings"))
            out.append(PaletteCommand("go: Links", lambda: self.push_screen(LinksScreen()),
                                      "Which QuickBooks record each Autotask organization and product is"))
            if isinstance(screen, LogsScreen):
                out += [
                    PaletteCommand("log: Retry the selected error", screen.action_retry, "r"),
                    PaletteCommand("log: Filter by text", screen.action_filter_text, "/"),
                    PaletteCommand("log: Cycle the status filter", screen.action_cycle_status, "f"),
                    PaletteCommand("log: Show the selected entry", screen.action_detail, "enter"),
                ]
                if self.demo:
                    out.append(PaletteCommand("demo: Fix the cause of the selected error in QBO",
                                              screen.action_demo_fix,
                                              "Changes the emulated QuickBooks so a retry can succeed"))
        if self.connected:
            out.append(PaletteCommand("plan: What the next scan would do", lambda: self.open_plan(None),
                                      "Every eligible PO: matched or created, bill, or cause; approve held ones"))
            out.append(PaletteCommand("doctor: Check everything before a scan", self.open_doctor,
                                      "Both connections, the settings, every eligible PO; read-only"))
        if self.service_gone:
            out.append(PaletteCommand("run: Run the engine in this console", lambda: self.run_worker(
                self.action_run_here(), group="run-here", description="Running the engine in this console"),
                "The service stopped; e"))
        out.append(PaletteCommand("help: Keys and screens", lambda: self.push_screen(HelpScreen(screen)), "?"))
        out.append(PaletteCommand("app: Quit", lambda: self.run_worker(
            self.action_quit(), group="quit", description="Quitting"), "q"))
        return out

    def doctor(self, settings: Any = None, autotask: Any = None, qbo: Any = None) -> Any:
        """The doctor's report maker (console.doctor_source), for the screens."""
        from .doctor_source import doctor_producer

        if self.attached:
            return doctor_producer(lambda: self.runtime, attached_to=self.data_dir)
        return doctor_producer(lambda: self.runtime, settings=settings, autotask=autotask, qbo=qbo)

    def open_plan(self, po_id: int | None = None) -> None:
        from screens.plan import PlanScreen

        if self.control is not None and not isinstance(self.screen, PlanScreen):
            self.push_screen(PlanScreen(self.control, select_po=po_id))

    def approve_held(self, po_id: int, reason: str) -> None:
        self.run_worker(self._approve_held(po_id, reason), group="approve", exclusive=False,
                        description="Approving a held purchase order")

    async def _approve_held(self, po_id: int, reason: str) -> None:
        from sync.text import shown

        control = self.control
        if control is None:
            return
        try:
            report = await control.plan([po_id])
            plan = next((p for p in report.plans if p.po_id == po_id), None)
            if plan is None or plan.hold != reason:
                # Not the plan the row shows: the operator looks at it before approving.
                self.notify("The plan of this PO changed since it was held: look at it, then approve (a).",
                            severity="warning", markup=False)
                self.open_plan(po_id)
                return
            approved, refused = await control.approve([plan])
        except Exception as exc:  # noqa: BLE001 (told, never a crash)
            self.notify(f"Not approved: {shown(exc)}", severity="error", markup=False)
            return
        if approved:
            self.notify(f"PO {shown(plan.po_number)} approved: the next scan applies it", markup=False)
        for p, why in refused:
            self.notify(f"PO {shown(p.po_number)} not approved: {shown(why)}", severity="warning", markup=False)

    def open_doctor(self) -> None:
        from screens.doctor import DoctorScreen

        if not isinstance(self.screen, DoctorScreen):
            self.push_screen(DoctorScreen(self.doctor()))

    def get_system_commands(self, screen: Screen):
        # Keep Textual's theme and screenshot commands; ours come from AtqboCommands.
        for command in super().get_system_commands(screen):
            if command.title in ("Theme", "Screenshot", "Keys"):
                yield command


def _sync_one_result(result: SyncOutcome) -> msg.SyncOneFinished:
    return msg.SyncOneFinished(result.po_id, ok=result.ok, doc_number=result.doc_number,
                               cause=result.cause, fix=result.fix)


# -------------------------------------------------------------------- entry point


def run_console(data_dir: Path | None, demo: bool) -> int:
    """`atqbo [--data-dir DIR]` and `atqbo --demo`: build the runtime, run the app, close."""
    from console.startup import open_console_runtime

    app = AtqboApp(runtime_factory=lambda: open_console_runtime(data_dir, demo), demo=demo,
                   data_dir=data_dir, serve_control=not demo)
    try:
        code = app.run()
    finally:
        if app.runtime is not None and not app.runtime_closed:
            _close_runtime(app.runtime)
    return int(code or 0)


def _close_runtime(runtime: Any) -> None:
    close = getattr(runtime, "aclose", None)
    if close is None:
        return
    try:
        asyncio.run(close())
    except Exception:
        pass
