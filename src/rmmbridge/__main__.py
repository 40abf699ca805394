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
    print(f"  {'manage'.ljust(width)}  Run any Django management command (migrate, createsuperuser, shell, …).")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rmmbridge.settings")
    import django

    django.setup()
    from django.core.management import execute_from_command_line

    if not args or args[0] in {"-h", "--help", "help"}:
        _print_help()
        return
    if args[0] == "manage":
        args = args[1:]
    execute_from_command_line(["rmmbridge", *args])


if __name__ == "__main__":
    main()
