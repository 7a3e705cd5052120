"""`atqbo --daemon`: the scheduler without a UI (DESIGN §4).

The same engine as the console, with a log sink instead of screens: every engine event is one
line on stdout (human by default, JSON with --json), which systemd's journal or a log shipper
takes as it comes. Signals:
- SIGTERM / SIGINT: stop cleanly. The engine finishes the purchase order in flight and
  returns (a second signal cancels at once: the journal makes the PO recoverable);
- SIGHUP: re-read the settings now; what changed is logged, and the next scan uses them.

While it runs it serves the control socket in the data folder (docs/control-protocol.md): a
console started on the same folder attaches to it, and `sync-one`, `retry` and `settings set`
send their work there.

`--once` runs one scan and exits with the contract's code: 0 all synced (or nothing to do),
3 some POs failed, 2 the scan could not run for a configuration reason (missing settings,
not connected), 1 it could not connect or authenticate. With --json the last line on stdout
is a JSON summary: scanned, synced, failed, skipped, todos_created, api_calls per service,
duration_s, exit_code.

This module must never import Textual (a test enforces it): it is what runs on a server.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import IO, Any

import anyio

from console.output import Printer, RunSummary
from sync import events as ev

EXIT_OK, EXIT_FATAL, EXIT_USAGE, EXIT_SOME_FAILED = 0, 1, 2, 3

# ScanStopped causes that mean "fix the configuration" (exit 2) rather than "cannot connect or
# authenticate" (exit 1).
# A machine fault (disk full, read-only data folder) is the operator's to fix too.
CONFIG_CAUSES = frozenset({"settings_incomplete", "multicurrency_qbo_off", "status_picklist", "storage_fault"})


def exit_code_for(summary: RunSummary, stop_codes: list[str]) -> int:
    """The contract's exit code for what the scans reported."""
    if stop_codes:
        return EXIT_USAGE if all(c in CONFIG_CAUSES for c in stop_codes) else EXIT_FATAL
    return EXIT_SOME_FAILED if summary.failed else EXIT_OK


class _LogBridge(logging.Handler):
    """Python log records (mail failures, store warnings) as daemon lines, same format."""

    def __init__(self, printer: Printer) -> None:
        super().__init__(level=logging.INFO)
        self.printer = printer

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level = {"WARNING": "warning", "ERROR": "error", "CRITICAL": "error"}.get(
                record.levelname, "info")
            self.printer.message(record.getMessage(), level=level, logger=record.name)
        except Exception:  # logging must never take the daemon down
            self.handleError(record)


def run_daemon(data_dir: str | Path | None = None, once: bool = False, demo: bool = False,
               as_json: bool = False, stream: IO[str] | None = None,
               metrics: tuple[str, int] | None = None) -> int:
    """Run the scheduler headless; return the process exit code."""
    printer = Printer(as_json, stream)
    bridge = _LogBridge(printer)
    root = logging.getLogger("atqbo")
    root.addHandler(bridge)
    root.setLevel(logging.INFO)
    for name in ("sync",):  # the store and engine log under their module names
        logging.getLogger(name).addHandler(bridge)
    try:
        return anyio.run(_daemon, data_dir, once, demo, printer, metrics)
    except KeyboardInterrupt:  # Ctrl+C before the signal handlers were in place
        printer.message("interrupted before the engine started", level="warning")
        return EXIT_OK
    finally:
        root.removeHandler(bridge)
        logging.getLogger("sync").removeHandler(bridge)


async def _daemon(data_dir: str | Path | None, once: bool, demo: bool, printer: Printer,
                  metrics_at: tuple[str, int] | None = None) -> int:
    from console.runtime_headless import RuntimeProblem, open_runtime

    started = time.monotonic()
    summary = RunSummary()
    stop_codes: list[str] = []

    def finish(code: int, **extra: Any) -> int:
        summary.duration_s = time.monotonic() - started
        record = summary.as_record(exit_code=code, **extra)
        printer.summary(record, human=f"{summary.human()}; exit code {code}")
        return code

    try:
        runtime = await open_runtime(data_dir, demo=demo, engine=True, printer=printer)
    except RuntimeProblem as problem:
        printer.message(str(problem), level="error")
        return finish(problem.exit_code, error=str(problem),
                      **({"fault": problem.fault_code} if problem.fault_code else {}))

    # Besides stdout (the journal under systemd): the data folder's logs/daemon.log, rotated.
    from console.output import LogFile

    log_file = None
    if not demo:
        try:
            log_file = LogFile(runtime.store.locations.log_dir / "daemon.log")
        except OSError as exc:  # stdout still gets every line; the folder's fault is named
            from sync.store.faults import CREATE_FOLDER, name_fault

            fault = name_fault(exc, runtime.store.locations.log_dir, CREATE_FOLDER)
            printer.message(f"logs/daemon.log is not written ({fault.what}); lines go to stdout only",
                            level="warning")
    printer.tee(log_file)

    from console.daemon_watch import Watch

    watch = Watch(runtime, printer)
    try:
        watch.start_metrics(metrics_at)
    except OSError as exc:
        message = (f"cannot serve metrics on {metrics_at[0]}:{metrics_at[1]}: {exc.strerror or exc} "
                   "(choose another --metrics-port, or --metrics-address)")
        printer.message(message, level="error")
        printer.tee(None)
        if log_file is not None:
            log_file.close()
        watch.close()
        await runtime.aclose()
        return finish(EXIT_USAGE, error=message)

    def on_event(event: ev.Event) -> None:
        printer.event(event)
        summary.add(event)
        watch.on_event(event)
        if isinstance(event, ev.ScanStopped):
            stop_codes.append(event.cause_code)

    code = EXIT_OK
    interrupted = crashed = False
    try:
        engine = runtime.engine
        engine.origin = "service"  # for each PO's story (atqbo why)
        unsubscribe = engine.subscribe(on_event)
        try:
            where = runtime.describe()
            printer.message(f"atqbo daemon started ({where}); "
                            + ("one scan, then exit" if once else
                               f"scanning every {runtime.settings.scan_interval_minutes} min after "
                               "the previous scan ended; SIGTERM stops, SIGHUP reloads settings"),
                            pid=os.getpid())
            if runtime.settings.notify_email and runtime.notifier.config is None:
                missing = ", ".join(p.key for p in runtime.settings.missing_for_email()) or "smtp settings"
                printer.message(f"notify_email is {runtime.settings.notify_email} but mail is not "
                                f"configured (set {missing}): failures are not mailed", level="warning")
            async with _control_socket(runtime, printer), anyio.create_task_group() as tg:
                stopping = anyio.Event()

                async def watch_signals() -> None:
                    nonlocal interrupted
                    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
                        async for signum in signals:
                            if signum == signal.SIGHUP:
                                await _reload(runtime, printer)
                                continue
                            name = signal.Signals(signum).name
                            if not stopping.is_set():
                                stopping.set()
                                interrupted = True
                                printer.message(f"{name} received: stopping after the purchase order "
                                                "in flight (send it again to stop at once)", level="warning")
                                tg.start_soon(engine.stop)
                            else:
                                printer.message(f"{name} received again: stopping now; the journal "
                                                "lets the next run finish what was in flight", level="warning")
                                tg.cancel_scope.cancel()

                async def work() -> None:
                    if once:
                        await engine.scan_once()
                    else:
                        await engine.run()
                    tg.cancel_scope.cancel()

                tg.start_soon(watch_signals)
                tg.start_soon(work)
                tg.start_soon(watch.watchdog)
                watch.ready(once)
        except Exception as exc:  # a bug: say what, without a traceback (it may quote data)
            while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
                exc = exc.exceptions[0]
            printer.message(f"the engine stopped on an unexpected {type(exc).__name__}: {exc}",
                            level="error")
            crashed = True
        finally:
            unsubscribe()
        if crashed:
            code = EXIT_FATAL
        elif once:
            code = exit_code_for(summary, stop_codes)
        else:
            # Without --once the daemon only ends on a signal: that is a clean stop, whatever
            # the scans before it found (they are in the log and the error log).
            code = EXIT_OK
    finally:
        watch.close()
        with anyio.CancelScope(shield=True):
            await runtime.aclose()
    code = finish(code, **({"interrupted": True} if interrupted else {}))
    printer.tee(None)
    if log_file is not None:
        log_file.close()
    return code


@asynccontextmanager
async def _control_socket(runtime: Any, printer: Printer) -> AsyncIterator[None]:
    """Serve the engine on the data folder's control socket while the engine runs. A socket
    that cannot be served (another live one, a folder we cannot write) is said and the daemon
    runs without it: scans matter more than attaching."""
    from sync.control.local import LocalEngineControl
    from sync.control.server import ControlServer, SocketBusy

    control = LocalEngineControl(runtime)
    path = runtime.store.locations.control_socket
    server = ControlServer(control, path)
    try:
        await server.__aenter__()
    except (SocketBusy, OSError) as exc:
        control.close()
        printer.message(f"control socket not served ({exc}); consoles cannot attach", level="warning")
        yield
        return
    try:
        yield
    finally:
        await server.__aexit__(None, None, None)
        control.close()


async def _reload(runtime: Any, printer: Printer) -> None:
    """SIGHUP: re-read the settings file now and say what changed (a bad file keeps the old
    settings and says why)."""
    try:
        changed = await runtime.reload_settings()
    except Exception as exc:  # SettingsError / StoreFileError: messages name the key or file
        printer.message(f"SIGHUP: settings not reloaded, keeping the previous ones: {exc}",
                        level="error")
        return
    if changed:
        printer.message("SIGHUP: settings reloaded; changed: " + ", ".join(changed),
                        changed=list(changed))
    else:
        printer.message("SIGHUP: settings reloaded; nothing changed", changed=[])
