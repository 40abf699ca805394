"""Benchmark: worst-case CPU time to parse one hostile e-mail (10 MB HTML bodies, a huge encoded-word subject).

Each shape runs in its own process with a time limit (`--timeout`); a shape that does not finish is reported as
`"timed_out": true`. Prints JSON. Target: every shape of a 10 MB mail parses in under 2 s.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

MB = 1024 * 1024


def _html_mail(markup: str, subject: str = "Alert on device: 10.0.0.5, reason Disk - Alert{bench-1}") -> bytes:
    msg = EmailMessage()
    msg["From"] = "Datto RMM <noreply@centrastage.net>"
    msg["To"] = "alerts@desk.example"
    msg["Subject"] = subject
    msg["Message-ID"] = "<bench-hostile@centrastage.example>"
    msg.set_content(markup, subtype="html", cte="8bit" if markup.isascii() else "base64")
    return msg.as_bytes()


def _repeat(unit: str, size: int) -> str:
    return unit * max(1, size // len(unit))


SHAPES: dict[str, Callable[[int], bytes]] = {
    "lt_flood": lambda size: _html_mail(_repeat("<", size)),
    "unclosed_script_tags": lambda size: _html_mail(_repeat("<script>", size)),
    "unclosed_style_tags": lambda size: _html_mail(_repeat("<style x", size)),
    "unclosed_attribute": lambda size: _html_mail('<a href="' + _repeat("x", size)),
    "block_tags_without_end": lambda size: _html_mail(_repeat("<br ", size)),
    "ordinary_table": lambda size: _html_mail(_repeat("<tr><td>Disk C:</td><td>9% free</td></tr>\n", size)),
    "entities": lambda size: _html_mail(_repeat("&amp;&#x41;&nbsp;&bogus;", size)),
}


def _encoded_subject(size: int) -> bytes:
    words = _repeat("=?utf-8?q?Disk_full?= ", size)
    return (f"From: noreply@centrastage.net\r\nSubject: {words}\r\nMessage-ID: <bench-subject@x>\r\n\r\nbody\r\n"
            ).encode()


def _run(shape: str, size: int, answer: Any) -> None:
    from rmmbridge.alerts.intake.email import parse_email

    raw = _encoded_subject(size) if shape == "encoded_word_subject" else SHAPES[shape](size)
    started = time.perf_counter()
    parsed = parse_email(raw)
    answer.put({"seconds": round(time.perf_counter() - started, 3), "message_bytes": len(raw),
                "body_chars": len(parsed.body), "subject_chars": len(parsed.subject),
                "problems": list(parsed.problems)[:4]})


def measure(shape: str, size: int, timeout: float) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    answer = context.Queue()
    process = context.Process(target=_run, args=(shape, size, answer))
    started = time.perf_counter()
    process.start()
    process.join(timeout)
    if process.is_alive():
        process.kill()
        process.join()
        return {"shape": shape, "timed_out": True, "seconds": f"> {timeout:g}"}
    result = answer.get(timeout=5) if process.exitcode == 0 else {"error": f"exit code {process.exitcode}"}
    result["wall_seconds_with_start"] = round(time.perf_counter() - started, 3)
    return {"shape": shape, "timed_out": False, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=float, default=10.0, help="size of each hostile body in MB")
    parser.add_argument("--subject-mb", type=float, default=1.7, help="size of the encoded-word subject in MB")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds before a shape counts as hung")
    parser.add_argument("--shapes", default="", help="comma-separated subset of shapes")
    args = parser.parse_args()
    names = [*SHAPES, "encoded_word_subject"]
    if args.shapes:
        names = [n for n in names if n in args.shapes.split(",")]
    results = []
    for name in names:
        size = int((args.subject_mb if name == "encoded_word_subject" else args.mb) * MB)
        results.append(measure(name, size, args.timeout))
    finished = [r["seconds"] for r in results if not r["timed_out"] and isinstance(r.get("seconds"), float)]
    print(json.dumps({
        "benchmark": "hostile_mail", "body_mb": args.mb, "subject_mb": args.subject_mb,
        "worst_seconds": (f"> {args.timeout:g}" if any(r["timed_out"] for r in results)
                          else max(finished, default=0.0)),
        "results": results,
    }, indent=2))


if __name__ == "__main__":
    main()
