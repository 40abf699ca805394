"""`rmmbridge emulate <slug>`: serve a vendor's API emulator on loopback and print the credentials it accepts."""

from __future__ import annotations

import shlex
import socket
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rmmbridge.connectors.testing.faults import FaultSpecError, parse_fault

FAULT_HELP = (
    "Inject a fault (repeatable): KIND[:METHOD][:PATH][:times=N,after=N,retry_after=S,delay=S] with KIND one of "
    "an HTTP status 400-599, slow, drop, malformed-json, malformed-item, repeat-page; "
    "e.g. 429:GET:/api/v2/account/devices:times=2 (see docs/emulators.md)."
)


class Command(BaseCommand):
    help = "Serve an RMM vendor's API emulator (for trying rmmbridge without a real RMM); prints its credentials."

    def add_arguments(self, parser: CommandParser) -> None:
        from rmmbridge.connectors.testing import EMULATORS

        parser.add_argument("slug", choices=sorted(EMULATORS), help="Vendor to emulate.")
        parser.add_argument("--port", type=int, default=8765, help="TCP port (0 = any free port). Default 8765.")
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on. Default 127.0.0.1.")
        parser.add_argument("--seed", type=int, default=1, help="Seed of the generated estate. Default 1.")
        parser.add_argument("--customers", type=int, default=5, help="Customers (Datto: sites). Default 5.")
        parser.add_argument("--devices", type=int, default=50, help="Devices. Default 50.")
        parser.add_argument("--alerts", type=int, default=5, help="Open alerts. Default 5.")
        parser.add_argument("--page-size", type=int, default=None, help="Cap the page size the API returns.")
        parser.add_argument("--fault", action="append", default=[], metavar="SPEC", help=FAULT_HELP)
        parser.add_argument(
            "--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides",
            help="Set a credential the emulator accepts, with the keys of `integration add` (e.g. api_key=…).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        import uvicorn

        from rmmbridge.connectors.testing import EMULATORS
        from rmmbridge.connectors.testing.server import make_state

        slug: str = options["slug"]
        for number in ("customers", "devices", "alerts"):
            if options[number] < 0:
                raise CommandError(f"--{number} must be 0 or more; got {options[number]}.")
        for spec in options["fault"]:
            try:
                parse_fault(spec)
            except FaultSpecError as exc:
                raise CommandError(str(exc)) from None
        state = make_state(
            slug, seed=options["seed"], customers=options["customers"], devices=options["devices"],
            alerts=options["alerts"], faults=options["fault"], page_size=options["page_size"],
        )
        for item in options["overrides"]:
            key, sep, value = item.partition("=")
            key = key.strip()
            if not sep or not key:
                raise CommandError(f"--set needs KEY=VALUE; got {item!r}.")
            if key == state.url_key:
                raise CommandError(f"{key} is the emulator's own address; choose it with --host and --port.")
            if key not in state.credentials:
                known = ", ".join(state.credentials)
                raise CommandError(f"Unknown credential {key!r} for {slug}; use one of: {known}.")
            if not value:
                raise CommandError(f"--set {key}= needs a value.")
            state.credentials[key] = value

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # accepted sockets inherit it: no 40 ms stalls
        try:
            sock.bind((options["host"], options["port"]))
        except OSError as exc:
            raise CommandError(
                f"Cannot listen on {options['host']}:{options['port']} ({exc.strerror}); pick another --port."
            ) from None
        port = sock.getsockname()[1]
        url = f"http://{options['host']}:{port}"
        credentials = state.public_credentials(url)
        set_args = " ".join(f"--set {shlex.quote(f'{k}={v}')}" for k, v in credentials.items())
        self.stdout.write(f"{slug} emulator listening on {url}  (seed {state.seed}, {state.device_count()} devices, "
                          f"{len(state.open_alerts())} open alerts)")
        self.stdout.write("Credentials it accepts:")
        for key, value in credentials.items():
            self.stdout.write(f"  {key}={value}")
        name = shlex.quote(f"{slug} emulator")
        self.stdout.write(f"Add it:  rmmbridge integration add {slug} --name {name} {set_args}")
        self.stdout.write(f"Control API: {url}/_emulator/state  (see docs/emulators.md). Stop with Ctrl+C.")
        self.stdout.flush()
        _, create_app = EMULATORS[slug]
        config = uvicorn.Config(create_app(state), log_level="warning", access_log=False, lifespan="off")
        uvicorn.Server(config).run(sockets=[sock])
