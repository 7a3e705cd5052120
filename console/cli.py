"""The `atqbo` command line (DESIGN.md §4 is the contract).

Exit codes: 0 success; 3 finished, some POs failed; 2 usage or configuration error;
1 fatal (cannot connect or authenticate).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import warnings

from . import cli_args as args_type

EXIT_OK = 0
EXIT_FATAL = 1
EXIT_USAGE = 2
EXIT_SOME_FAILED = 3


class _Parser(argparse.ArgumentParser):
    """argparse exits with 2 on bad usage, which is our contract's code for usage errors too.
    The message names the command (`atqbo settings set: ...`) and points at its --help."""

    def error(self, message: str):  # type: ignore[override]
        from sync.text import shown

        # argparse quotes what was typed (an unknown argument as it is): never raw on a terminal.
        message = shown(message)
        if _json_requested:
            # The contract: with --json the last line on stdout is a JSON summary, errors too.
            print(json.dumps({"ok": False, "exit_code": EXIT_USAGE, "error": f"{self.prog}: {message}"}),
                  flush=True)
        self.exit(EXIT_USAGE, f"{self.prog}: {message}\nTry '{self.prog} --help'.\n")


_json_requested = False


_EPILOG = """\
examples:
  atqbo --demo                         try it: the console on the built-in sandbox
  atqbo                                the console on your own data (connect from its screens)
  atqbo --daemon                       run the scheduler headless (e.g. under systemd)
  atqbo --daemon --once --json         one scan; the last line is a JSON summary

  export ATQBO_AUTOTASK_SECRET=...     (or leave it unset to be asked, hidden)
  atqbo connect autotask --username api@acme.example --integration-code ABC123
  atqbo connect quickbooks --client-id AB12...   (asks for the secret, then signs in)
  atqbo settings show
  atqbo settings set days_back 7
  atqbo doctor                         check everything before the first scan (read-only)
  atqbo plan                           what the next scan would do to each PO (read-only)
  atqbo approve --all-held             let held POs go ahead (apply_mode)
  atqbo sync-one 12345 --email me@acme.example
  atqbo logs --errors
  atqbo retry --all-failed
  atqbo repair journal --dry-run       what a rebuilt journal would hold (from both services)
  atqbo links --kind vendor            which QuickBooks vendor each Autotask organization is
  atqbo link vendor 29683501 45        link by hand (checked against both services)

exit codes: 0 success; 3 finished but some purchase orders failed; 2 usage or configuration
error (bad option, unknown setting, missing settings); 1 fatal (cannot connect or authenticate).
Files live under your user data folder; --data-dir DIR or ATQBO_DATA_DIR=DIR puts them in DIR.
Each command has its own help: atqbo COMMAND --help.
"""

_HELP = argparse.RawDescriptionHelpFormatter


def _common(json_help: str | None = None) -> argparse.ArgumentParser:
    """Options every command accepts after its name too (SUPPRESS: don't overwrite a value given
    before the command)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", metavar="DIR", default=argparse.SUPPRESS,
                        help="folder for settings, secrets, logs (default: your user data folder, "
                             "or $ATQBO_DATA_DIR)")
    if json_help:
        common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help=json_help)
    return common


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="atqbo", formatter_class=_HELP, epilog=_EPILOG,
        description=(
            "atqbo moves Autotask PSA purchase orders into QuickBooks Online as bills, exactly "
            "once.\nWithout a command it opens the console (a terminal UI); with --daemon it "
            "runs the same\nscheduler headless; the commands below do one thing and exit."))
    parser.add_argument("--version", action="version", version=f"atqbo {_version()}",
                        help="print atqbo's version and exit")
    parser.add_argument("--data-dir", metavar="DIR", default=None,
                        help="folder for settings, secrets and logs (default: your user data "
                             "folder, or $ATQBO_DATA_DIR)")
    parser.add_argument("--demo", action="store_true",
                        help="use the built-in sandbox with demo data (a temporary data folder; "
                             "nothing real is touched)")
    parser.add_argument("--daemon", action="store_true",
                        help="run the scheduler without a UI: scans every scan_interval_minutes, "
                             "logs to stdout; SIGTERM/SIGINT stop it cleanly, SIGHUP reloads settings")
    parser.add_argument("--once", action="store_true",
                        help="with --daemon: run one scan, then exit (0 all synced, 3 some failed)")
    parser.add_argument("--json", action="store_true",
                        help="with --daemon or a command: JSON lines; the last line is a JSON summary")
    parser.add_argument("--metrics-port", type=args_type.metrics_port, metavar="PORT", default=None,
                        help="with --daemon: serve Prometheus metrics on http://ADDRESS:PORT/metrics")
    parser.add_argument("--metrics-address", metavar="ADDRESS", default="127.0.0.1",
                        help="with --metrics-port: the address to listen on (default 127.0.0.1, "
                             "loopback only)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    sandbox = commands.add_parser(
        "sandbox", help="serve the local Autotask and QuickBooks Online emulators",
        description=(
            "Serve local emulators of Autotask REST and QuickBooks Online (with Intuit OAuth) on "
            "loopback, and print their URLs and the seeded company's credentials so any client "
            "can be pointed at them. Stops on Ctrl+C."))
    sandbox.add_argument("--port", type=args_type.port, default=0, help="port to listen on (default: a free one)")
    sandbox.add_argument("--seed", choices=("demo", "empty", "hostile"), default="demo",
                         help="demo: a small MSP with purchase orders in every state; empty: fresh companies; "
                              "hostile: every text field hostile (escape sequences, CR/LF, bidi overrides)")
    sandbox.add_argument("--latency-ms", type=float, default=0.0, metavar="N",
                         help="added latency per API request, in milliseconds")
    sandbox.add_argument("--no-limits", action="store_true",
                         help="turn off the emulated rate and thread limits")
    sandbox.add_argument("--fault", action="append", type=args_type.fault_spec, default=[], metavar="SPEC",
                         help="inject a fault: KIND[,service=S][,method=M][,path=REGEX][,every=N][,skip=N]"
                              "[,times=N][,probability=P][,seed=N], KIND one of 429 500 502 503 lost "
                              "(lost: the write commits, the reply is dropped), or a hostile answer: "
                              "zone_url/next_page_url/prev_page_url (,url=U), wrong_shape, "
                              "oversized (,size=BYTES,declare_length=no), trickle (,delay_ms=N). Repeatable.")
    sandbox.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                         help="print the URLs and credentials as one JSON object on the first line")

    connect = commands.add_parser(
        "connect", help="connect to Autotask or QuickBooks Online (checked before it is saved)",
        formatter_class=_HELP,
        description=(
            "Save the connection to one service after checking that it works. Secrets never go "
            "on the command line:\nthey come from an environment variable or a hidden prompt."))
    services = connect.add_subparsers(dest="service", metavar="SERVICE", parser_class=_Parser,
                                      required=True)
    at = services.add_parser(
        "autotask", parents=[_common("print the result as JSON")], formatter_class=_HELP,
        help="connect to Autotask PSA with an API user",
        description=(
            "Connect to Autotask with an API user (Admin > Resources: an API-only user with "
            "the\n'API User (system)' security level and an integration code).\n"
            "The secret comes from ATQBO_AUTOTASK_SECRET, or you are asked for it (hidden).\n"
            "atqbo looks up the user's zone and makes one authenticated call before saving."),
        epilog=("example:\n  ATQBO_AUTOTASK_SECRET='...' atqbo connect autotask "
                "--username api@acme.example --integration-code ABC123XYZ"))
    at.add_argument("--username", required=True, metavar="U", help="the API user's user name (an e-mail address)")
    at.add_argument("--integration-code", required=True, metavar="C",
                    help="the API tracking identifier (integration code)")
    at.add_argument("--zone-url", type=args_type.url, metavar="URL",
                    help="where the zone lookup is served (default: Autotask's own, "
                         "https://webservices.autotask.net; the sandbox prints its own)")

    qb = services.add_parser(
        "quickbooks", parents=[_common("print the result as JSON")], formatter_class=_HELP,
        help="connect to QuickBooks Online through Intuit OAuth 2.0",
        description=(
            "Connect to a QuickBooks Online company with your Intuit app's keys.\n"
            "The client secret comes from ATQBO_QBO_CLIENT_SECRET, or you are asked for it "
            "(hidden).\nThe refresh token comes from ATQBO_QBO_REFRESH_TOKEN; without it atqbo "
            "signs in through\nthe redirect URI registered on the Intuit app (--redirect-uri, checked "
            "first against\nIntuit's rules): for http://localhost:PORT/PATH (development keys) it "
            "listens on exactly\nthat port and path; for any other URI it prints the sign-in address "
            "and reads the address\nthe browser was sent to, pasted on stdin. atqbo reads CompanyInfo "
            "before saving.\nStep by step: docs/connect.md."),
        epilog=("examples:\n  atqbo connect quickbooks --client-id ABcd123 --environment sandbox "
                "--redirect-uri http://localhost:8765/callback\n"
                "  atqbo connect quickbooks --client-id ABcd123 --environment production "
                "--redirect-uri https://acme.example/atqbo/callback\n"
                "  ATQBO_QBO_CLIENT_SECRET=... ATQBO_QBO_REFRESH_TOKEN=... atqbo connect quickbooks "
                "--client-id ABcd123 --realm-id 9130357"))
    qb.add_argument("--client-id", required=True, metavar="ID", help="your Intuit app's client id")
    qb.add_argument("--realm-id", metavar="R",
                    help="the company id (realm); the sign-in tells it, so it is needed only "
                         "with ATQBO_QBO_REFRESH_TOKEN")
    qb.add_argument("--redirect-uri", metavar="URI",
                    help="the redirect URI registered on your Intuit app, character for character "
                         "(needed to sign in; kept for the next time)")
    qb.add_argument("--environment", choices=("production", "sandbox"), metavar="production|sandbox",
                    help="which keys these are: production, or development keys for Intuit's sandbox "
                         "companies (default: the saved one, else production)")
    qb.add_argument("--api-url", type=args_type.url, metavar="URL",
                    help="QBO API base (default: by --environment, https://quickbooks.api.intuit.com "
                         "or https://sandbox-quickbooks.api.intuit.com)")
    qb.add_argument("--auth-url", type=args_type.url, metavar="URL", help="Intuit authorization endpoint (default: Intuit's)")
    qb.add_argument("--token-url", type=args_type.url, metavar="URL", help="Intuit token endpoint (default: Intuit's)")

    settings = commands.add_parser(
        "settings", help="show or change the settings", formatter_class=_HELP,
        description="Show the settings, or change one (checked before it is saved).")
    settings_cmds = settings.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser,
                                            required=True)
    settings_cmds.add_parser("show", parents=[_common("print the settings as one JSON object")],
                             help="print every setting and what a scan still needs",
                             description="Print every setting and what a scan still needs.")
    set_cmd = settings_cmds.add_parser(
        "set", parents=[_common("print the result as JSON")], formatter_class=_HELP,
        help="change one setting",
        description=(
            "Change one setting. Values are checked: numbers must be numbers, choices one of the\n"
            "listed words; an account, action type or resource is checked against the live\n"
            "QuickBooks / Autotask data when that service is connected. An empty VALUE ('')\n"
            "clears an optional setting back to its default."),
        epilog=(
            "keys:\n"
            "  days_back N                   look back N days for Submitted POs, 0 to 3650 (0 pauses transfers)\n"
            "  po_number_source quickbooks|autotask   where the bill number comes from\n"
            "  missing_item create|error     a PO item whose product is not in QBO\n"
            "  apply_mode auto|hold_new_records|manual   what waits for approval (atqbo approve)\n"
            "  transfer_as bill|purchase_order|purchase_order_then_bill   what a PO becomes in QBO\n"
            "  new_item_expense_account ID   QBO expense account for created items\n"
            "  ap_account ID                 QBO accounts-payable account for bills\n"
            "  todo_action_type ID           Autotask action type of error to-dos\n"
            "  todo_resource ID              Autotask resource who gets error to-dos\n"
            "  scan_interval_minutes N       minutes between the end of a scan and the next (1 to 10080)\n"
            "  notify_email ADDR             who gets failure mail\n"
            "  smtp_host, smtp_port, smtp_username, smtp_starttls, smtp_from   mail server\n"
            "    (the SMTP password comes from ATQBO_SMTP_PASSWORD or a hidden prompt:\n"
            "     atqbo settings set smtp_password -)\n"
            "  log_retention_days N, log_max_entries N                         error log size\n"
            "  autotask_hourly_share PERCENT   share of Autotask's requests per hour for atqbo (1-100)\n"
            "example:\n  atqbo settings set ap_account 33"))
    set_cmd.add_argument("key", metavar="KEY", help="setting name (see below)")
    set_cmd.add_argument("value", metavar="VALUE", help="new value ('' to clear)")

    one = commands.add_parser(
        "sync-one", parents=[_common("print events as JSON lines; the last line is a JSON summary")],
        help="sync one purchase order now, by its Autotask id", formatter_class=_HELP,
        description=(
            "Sync one purchase order now, whatever its date and even if it is marked ERROR\n"
            "(never one that already has a QuickBooks number). Exit 0 synced, 3 failed."),
        epilog="example:\n  atqbo sync-one 12345 --email me@acme.example")
    one.add_argument("po_id", type=args_type.po_id, metavar="PO_ID", help="the Autotask purchase order id (a number)")
    one.add_argument("--email", type=args_type.email, metavar="ADDR",
                     help="send the result to this address instead of notify_email")

    logs = commands.add_parser(
        "logs", parents=[_common("print one JSON object per entry, then a JSON summary line")],
        help="list the error log", formatter_class=_HELP,
        description="List error-log entries, newest first.",
        epilog="examples:\n  atqbo logs --errors\n  atqbo logs --json --limit 500 | jq .")
    logs.add_argument("--errors", action="store_true", help="only entries still open (not resolved)")
    logs.add_argument("--limit", type=args_type.limit, default=50, metavar="N", help="at most N entries (default 50)")

    retry = commands.add_parser(
        "retry", parents=[_common("print events as JSON lines; the last line is a JSON summary")],
        help="retry one failed purchase order, or all of them", formatter_class=_HELP,
        description=(
            "Run a failed purchase order again with the current settings. On success its ERROR\n"
            "marker becomes the QuickBooks number and the log entry is resolved. Exit 0 all "
            "synced, 3 some failed."),
        epilog="examples:\n  atqbo retry 17   (an id from `atqbo logs`)\n  atqbo retry --all-failed")
    commands.add_parser(
        "doctor", parents=[_common("one JSON object per finding and PO; the last line is a JSON summary")],
        help="check everything before the first scan, read-only", formatter_class=_HELP,
        description=(
            "Check both connections, the settings against the live data, the QuickBooks preferences\n"
            "they depend on, and every eligible purchase order as the next scan would see it (what\n"
            "it would create, what would fail and why), and the API headroom. Writes nothing.\n"
            "Exit 0 all is well, 3 something would fail or needs attention, 2 it cannot run\n"
            "(not connected, settings missing)."),
        epilog="examples:\n  atqbo doctor\n  atqbo doctor --json | jq 'select(.type == \"po\")'")
    plan = commands.add_parser(
        "plan", parents=[_common("one JSON object per purchase order; the last line is a JSON summary")],
        help="what a scan would do now, read-only", formatter_class=_HELP,
        description=(
            "For every eligible purchase order (or the ones named), what a scan would do right now:\n"
            "the vendor, customer and each item, matched (to which QuickBooks record, by what) or\n"
            "to be created; the bill's number, amount, currency, A/P account and lines; or the\n"
            "failure it would hit, with cause and fix. Writes nothing to either service.\n"
            "Exit 0, or 3 when some purchase order would fail."),
        epilog="examples:\n  atqbo plan\n  atqbo plan 12345 12346 --json")
    plan.add_argument("po_ids", nargs="*", type=args_type.po_id, metavar="PO_ID", help="Autotask purchase order ids (default: every eligible one)")
    approve = commands.add_parser(
        "approve", parents=[_common("one JSON object per purchase order; the last line is a JSON summary")],
        help="approve held purchase orders (apply_mode)", formatter_class=_HELP,
        description=(
            "Approve what the next scan will do to these purchase orders (apply_mode\n"
            "hold_new_records or manual). The plan is made now and printed; the approval holds for\n"
            "that plan only: if the PO or the records it depends on change before the scan, the PO\n"
            "is held again with the difference shown. Exit 0, or 3 when some could not be approved."),
        epilog="examples:\n  atqbo approve 12345\n  atqbo approve --all-held")
    approve_which = approve.add_mutually_exclusive_group(required=True)
    approve_which.add_argument("po_ids", nargs="*", type=args_type.po_id, metavar="PO_ID", default=[],
                               help="Autotask purchase order ids")
    approve_which.add_argument("--all-held", action="store_true", help="every purchase order now held")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("log_id", nargs="?", type=args_type.log_id, metavar="LOG_ID", help="the error-log entry id (from atqbo logs)")
    which.add_argument("--all-failed", action="store_true", help="retry every open entry")

    repair = commands.add_parser(
        "repair", help="rebuild what atqbo remembers from what the services hold", formatter_class=_HELP,
        description="Rebuild a part of the data folder from what QuickBooks and Autotask hold.")
    repair_what = repair.add_subparsers(dest="what", metavar="WHAT", parser_class=_Parser, required=True)
    journal = repair_what.add_parser(
        "journal", parents=[_common("print each record as a JSON line; the last line is a JSON summary")],
        formatter_class=_HELP, help="rebuild the sync journal (lost, damaged or restored from an old backup)",
        description=(
            "Rebuild the sync journal from QuickBooks' bills (each names its Autotask PO), the POs'\n"
            "External PO Numbers in Autotask and the error log, and say what was found. Records the\n"
            "journal already has right are kept; nothing is deleted in either service. A bill whose\n"
            "number Autotask does not hold yet is written back by the next scan, never billed again.\n"
            "Stop a running daemon first (the journal is not changed while an engine runs)."),
        epilog="examples:\n  atqbo repair journal --dry-run   (what it would write)\n  atqbo repair journal")
    journal.add_argument("--dry-run", action="store_true", help="only say what would be written")
    _link_parsers(commands)
    _audit_parsers(commands)
    return parser


_KINDS = ("vendor", "customer", "item")


def _link_parsers(commands: argparse._SubParsersAction) -> None:
    links = commands.add_parser(
        "links", parents=[_common("print one JSON object per link, then a JSON summary line")],
        help="list which QuickBooks record each Autotask organization and product is", formatter_class=_HELP,
        description=(
            "List the links: Autotask organization -> QuickBooks vendor or customer, Autotask product ->\n"
            "QuickBooks item, each with how it was made (created, exact name, near name approved, by\n"
            "hand) and when. A scan uses a link before any name."),
        epilog="examples:\n  atqbo links\n  atqbo links --kind vendor --json | jq .")
    links.add_argument("--kind", choices=_KINDS, help="only links of this kind")
    link = commands.add_parser(
        "link", parents=[_common("print the link as one JSON object")],
        help="link an Autotask organization or product to a QuickBooks record", formatter_class=_HELP,
        description=(
            "Link an Autotask record to a QuickBooks record; both are read first (the QuickBooks one\n"
            "must be active; an item must have an expense account). Replaces an earlier link of that\n"
            "Autotask record. The next scan uses it (a held PO that asked about it goes ahead)."),
        epilog="examples:\n  atqbo link vendor 29683501 45\n  atqbo link item 29682977 12")
    link.add_argument("kind", choices=_KINDS, metavar="KIND", help="vendor, customer or item")
    link.add_argument("autotask_id", type=args_type.record_id, metavar="AUTOTASK_ID",
                      help="the Autotask organization id (vendor, customer) or product id (item)")
    link.add_argument("qbo_id", type=args_type.record_id, metavar="QBO_ID", help="the QuickBooks Id of the vendor, customer or item")
    unlink = commands.add_parser(
        "unlink", parents=[_common("print the removed link as one JSON object")],
        help="forget a link (the next scan matches by name again)", formatter_class=_HELP,
        description="Forget the link of an Autotask record; the next scan matches it by name again.",
        epilog="example:\n  atqbo unlink vendor 29683501")
    unlink.add_argument("kind", choices=_KINDS, metavar="KIND", help="vendor, customer or item")
    unlink.add_argument("autotask_id", type=args_type.record_id, metavar="AUTOTASK_ID", help="the Autotask id")
def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("atqbo")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def _audit_parsers(commands) -> None:
    why = commands.add_parser(
        "why", parents=[_common("print the story as one JSON object")], formatter_class=_HELP,
        help="a purchase order's whole story: scans, decisions, writes, errors, retries",
        description=("Everything atqbo did with one purchase order, in order: each scan that saw it,\n"
                     "how its vendor, items and number were decided, every write with its requestid\n"
                     "and answer, errors with cause and fix, to-dos, retries and who started them."),
        epilog="example:\n  atqbo why 12345")
    why.add_argument("po_id", type=args_type.po_id, metavar="PO_ID", help="the Autotask purchase order id (a number)")

    export = commands.add_parser(
        "export", parents=[_common()], formatter_class=_HELP,
        help="one row per purchase order handled, as CSV or JSON",
        description=("One row per purchase order atqbo handled: Autotask PO id and number, QuickBooks\n"
                     "bill id and number, vendor, customer, amount, currency, dates, state, last error.\n"
                     "CSV cells that a spreadsheet would run as a formula are neutralised."),
        epilog="examples:\n  atqbo export --since 2026-01-01 --output bills.csv\n  atqbo export --format json | jq .")
    export.add_argument("--since", type=args_type.iso_date, metavar="DATE", help="only POs handled on or after DATE (YYYY-MM-DD)")
    export.add_argument("--format", choices=("csv", "json"), default="csv", help="csv (default) or json")
    export.add_argument("--output", metavar="FILE", help="write to FILE (mode 0600) instead of stdout")

    reconcile = commands.add_parser(
        "reconcile", parents=[_common("print findings as JSON lines; the last line is a JSON summary")],
        formatter_class=_HELP, help="compare the bills atqbo made in QuickBooks with Autotask (read-only)",
        description=("Read-only comparison of the bills atqbo made with what Autotask says. Exit 0\n"
                     "nothing found, 3 findings (each with what to do), 2 it cannot run."))

    health = commands.add_parser(
        "health", parents=[_common("print the checks as one JSON object")], formatter_class=_HELP,
        help="is the service healthy? (a monitoring check: exit 0 healthy, 3 degraded, 2 down)",
        description=("Age of the last finished scan against the interval, days until the QuickBooks\n"
                     "refresh token expires, open errors, API budget used, free disk space.\n"
                     "Exit 0 healthy, 3 degraded, 2 down."))
    del reconcile, health  # no options of their own


def _check_combinations(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.command is None:
        if args.once and not args.daemon:
            parser.error("--once only works with --daemon (atqbo --daemon --once)")
        if args.json and not args.daemon:
            parser.error("--json works with --daemon or with a command (e.g. atqbo settings show --json)")
        if args.metrics_port is not None and not args.daemon:
            parser.error("--metrics-port only works with --daemon (atqbo --daemon --metrics-port 9464)")
        if args.demo and args.data_dir is not None:
            parser.error("--demo uses its own temporary data folder; drop --data-dir")
    else:
        if args.metrics_port is not None:
            parser.error(f"--metrics-port cannot be combined with the {args.command} command")
        for flag in ("daemon", "demo", "once"):
            if getattr(args, flag):
                parser.error(f"--{flag} cannot be combined with the {args.command} command")


def main(argv: list[str] | None = None) -> int:
    global _json_requested
    _quiet_library_warnings()
    _json_requested = "--json" in (sys.argv[1:] if argv is None else argv)
    parser = _build_parser()
    args = parser.parse_args(argv)
    _check_combinations(parser, args)
    if args.command == "sandbox":
        return _run_sandbox(args)
    try:
        if args.command is None and args.daemon:
            from console.daemon import run_daemon  # never imports Textual

            return run_daemon(data_dir=args.data_dir, once=args.once, demo=args.demo, as_json=args.json,
                              metrics=(args.metrics_address, args.metrics_port) if args.metrics_port else None)
        if args.command is None:
            return _run_console(args)
        from console import cli_commands as commands

        return commands.run(args)
    except Exception as exc:
        return _unexpected(exc)
    except KeyboardInterrupt:
        return _failed(130, "interrupted")


def _failed(code: int, message: str, fault: str | None = None) -> int:
    from console.output import dumps
    from sync.text import shown_lines

    print(f"atqbo: {shown_lines(message)}", file=sys.stderr, flush=True)
    if _json_requested:
        print(dumps({"ok": False, "exit_code": code, "error": message, **({"fault": fault} if fault else {})}),
              flush=True)
    return code


def _quiet_library_warnings() -> None:
    """authlib warns about its own httpx integration on import (and forces its warnings to
    "always" when its deprecate module loads, so that is loaded first); an operator can do
    nothing about it and the line would pollute every command's output."""
    try:
        import authlib.deprecate  # noqa: F401  (cheap: it only defines the warning class)
    except ImportError:
        return
    warnings.filterwarnings("ignore", message=r".*httpx module is deprecated.*")


def _unexpected(exc: Exception) -> int:
    """Whatever a command did not turn into a message itself. Client and store errors carry
    safe, plain messages (never secrets); anything else is named by its type only."""
    from console.runtime_headless import store_problem
    from sync.clients.errors import ApiError
    from sync.settings import SettingsError

    if isinstance(exc, SettingsError):
        return _failed(EXIT_USAGE, str(exc))
    # The data folder (disk full, read-only, wrong owner, damaged file): named, never "report it".
    problem = store_problem(exc)
    if problem is not None:
        return _failed(problem.exit_code, str(problem), problem.fault_code)
    if isinstance(exc, ApiError):
        return _failed(EXIT_FATAL, str(exc))
    return _failed(EXIT_FATAL, f"unexpected {type(exc).__name__}: {exc}; nothing more was done. "
                               "Please report it.")


def _run_console(args: argparse.Namespace) -> int:
    from console.app import run_console  # Textual is imported only here

    from pathlib import Path

    data_dir = None if args.demo or args.data_dir is None else Path(args.data_dir)
    result = run_console(data_dir=data_dir, demo=args.demo)
    return int(result or 0)


def _run_sandbox(args: argparse.Namespace) -> int:
    from sync.sandbox.control import FaultRule, Knobs
    from sync.sandbox.server import Sandbox, SandboxServer

    if not 0 <= args.port <= 65535:
        print(f"atqbo sandbox: --port must be between 0 and 65535, got {args.port}", file=sys.stderr)
        return EXIT_USAGE
    if args.latency_ms < 0:
        print("atqbo sandbox: --latency-ms must be >= 0", file=sys.stderr)
        return EXIT_USAGE
    sandbox = Sandbox(args.seed, Knobs(latency_ms=args.latency_ms, limits_enabled=not args.no_limits))
    for spec in args.fault:
        sandbox.faults.add(FaultRule(**spec))
    server = SandboxServer(sandbox, port=args.port)
    try:
        server.start()
    except (RuntimeError, OSError) as exc:
        print(f"atqbo sandbox: cannot listen on port {args.port}: {exc}", file=sys.stderr)
        return EXIT_FATAL
    # Handlers first: whoever reads the URLs may signal us the moment they are printed.
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    info = sandbox_info(server.url, sandbox.credentials(server.url))
    if args.json:
        print(json.dumps(info), flush=True)
    else:
        print(_describe(info), flush=True)
    stop.wait()
    server.stop()
    return EXIT_OK


def sandbox_info(url: str, credentials: dict) -> dict:
    return {"url": url, "admin_url": f"{url}/_sandbox", **credentials}


def _describe(info: dict) -> str:
    lines = [f"atqbo sandbox serving on {info['url']}", f"  admin API: {info['admin_url']}"]
    for service in ("autotask", "oauth", "qbo"):
        lines.append(f"  {service}:")
        for key, value in info.get(service, {}).items():
            lines.append(f"    {key}: {value}")
    lines.append("Press Ctrl+C to stop.")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
