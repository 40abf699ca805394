"""The `rmmbridge` console script: dispatches to the project's Django management commands."""

from __future__ import annotations

import os
import sys


def _project_commands() -> dict[str, str]:
    """Map each rmmbridge management command to the first line of its help."""
    from django.core.management import get_commands, load_command_class

    commands: dict[str, str] = {}
    for name, app in sorted(get_commands().items()):
        if not app.startswith("rmmbridge."):
            continue
        command = load_command_class(app, name)
        commands[name] = (command.help or "").strip().splitlines()[0] if command.help else ""
    return commands


def _print_help() -> None:
    from rmmbridge import __version__

    print(f"rmmbridge {__version__}: connects RMM tools to a service desk.\n")
    print("Usage: rmmbridge <command> [options]   (rmmbridge <command> --help for its options)\n")
    print("Commands:")
    commands = _project_commands()
    width = max((len(n) for n in commands), default=10)
    for name, text in commands.items():
        print(f"  {name.ljust(width)}  {text}")
    print(f"  {'mailgate'.ljust(width)}  Mail pipe for Postfix/Exim: one message on stdin to the service or its spool.")
    print(f"  {'manage'.ljust(width)}  Run any Django management command (migrate, createsuperuser, shell, …).")


#: Commands that create or migrate the database themselves (or need none); every other one needs a migrated one.
SETS_UP = frozenset({"init", "demo", "manage", "emulate", "-h", "--help", "help"})


def _missing_home(args: list[str]) -> str | None:
    """Why a command cannot run because no home exists yet (checked before anything creates one)."""
    from rmmbridge.common.home import resolve_home

    if not args or args[0] in SETS_UP or os.environ.get("DATABASE_URL", "").strip():
        return None
    home = resolve_home()
    if home.is_dir():
        return None
    return (f"rmmbridge: no rmmbridge home at {home}: run `rmmbridge init` (or `make demo` in a checkout), "
            "or set RMMBRIDGE_HOME to the folder that holds your database.")


def _database_problem(args: list[str]) -> str | None:
    """Why the database cannot serve a command (unreachable or not migrated), in one line; None when it can."""
    if not args or args[0] in SETS_UP or "--help" in args or "-h" in args:
        return None
    from django.db import DatabaseError, connection
    from django.db.migrations.executor import MigrationExecutor

    where = (os.environ.get("DATABASE_URL", "").strip() and "DATABASE_URL") or str(connection.settings_dict["NAME"])
    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        return f"rmmbridge: cannot open the database ({where}): {first}. Start it or fix DATABASE_URL."
    if pending:
        return (f"rmmbridge: the database ({where}) is not set up ({len(pending)} migration(s) pending): "
                "run `rmmbridge init` (or `rmmbridge manage migrate`).")
    return None


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["mailgate"]:  # the MTA's pipe: one short process per mail, so no Django at all
        from rmmbridge.common.mailgate import run

        sys.exit(run(args[1:]))
    problem = _missing_home(args)
    if problem:
        print(problem, file=sys.stderr)
        sys.exit(2)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rmmbridge.settings")
    import django

    django.setup()
    from django.core.management import execute_from_command_line

    if not args or args[0] in {"-h", "--help", "help"}:
        _print_help()
        return
    problem = _database_problem(args)
    if problem:
        print(problem, file=sys.stderr)
        sys.exit(2)
    if args[0] == "manage":
        args = args[1:]
    execute_from_command_line(["rmmbridge", *args])


if __name__ == "__main__":
    main()
