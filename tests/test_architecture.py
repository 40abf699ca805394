"""Architecture rules: connectors import no Django; every vendor has one manifest, an emulator and contract tests."""

from __future__ import annotations

import ast
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import pytest

from rmmbridge.connectors import REGISTRY
from rmmbridge.connectors.errors import ConnectorConfigError
from rmmbridge.connectors.manifest import ALERT_HOOKS, VendorManifest
from rmmbridge.connectors.registry import MANIFESTS
from rmmbridge.connectors.testing import EMULATORS
from rmmbridge.connectors.urls import UrlRule, normalize_url

ROOT = Path(__file__).resolve().parents[1]
CONNECTORS = ROOT / "src" / "rmmbridge" / "connectors"
#: Packages that need Django (directly or through the ORM); connectors must stay pure Python.
FORBIDDEN = ("django", "ninja", "rmmbridge.servicedesk", "rmmbridge.integrations", "rmmbridge.sync",
             "rmmbridge.tickets", "rmmbridge.alerts", "rmmbridge.integrator", "rmmbridge.web", "rmmbridge.settings",
             "rmmbridge.urls", "celery")
VENDOR_SHAPE = ("__init__.py", "const.py", "credentials.py", "client.py", "schemas.py", "normalize.py", "connector.py",
                "emulator/__init__.py", "emulator/app.py", "emulator/state.py", "README.md")


def connector_modules() -> list[Path]:
    return sorted(p for p in CONNECTORS.rglob("*.py") if "__pycache__" not in p.parts)


def imported_modules(tree: ast.AST, path: Path) -> list[str]:
    names: list[str] = []
    package = ".".join(path.relative_to(ROOT / "src").with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                names.append(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                names.append(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
            "import_module", "__import__"
        ):
            names.extend(a.value for a in node.args[:1] if isinstance(a, ast.Constant) and isinstance(a.value, str))
    return names


def test_the_walk_finds_the_connector_modules() -> None:
    modules = connector_modules()
    assert CONNECTORS / "http" / "__init__.py" in modules
    assert CONNECTORS / "opening.py" in modules
    assert CONNECTORS / "testing" / "contract.py" in modules
    assert len(modules) > 20


@pytest.mark.parametrize("path", connector_modules(), ids=lambda p: str(p.relative_to(CONNECTORS)))
def test_connector_modules_import_no_django(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bad = [name for name in imported_modules(tree, path)
           if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)]
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}; connectors must stay pure Python (no Django)"


@pytest.mark.parametrize("path", connector_modules(), ids=lambda p: str(p.relative_to(CONNECTORS)))
def test_connector_modules_start_with_a_docstring(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    assert ast.get_docstring(tree), f"{path.relative_to(ROOT)} needs a one-line module docstring"


def test_the_forbidden_import_check_catches_django() -> None:
    sample = CONNECTORS / "sample_for_test.py"
    source = "from django.db import models\nimport rmmbridge.servicedesk.models\nfrom ..integrations import x\n"
    tree = ast.parse(source)
    names = imported_modules(tree, sample)
    assert "django.db" in names
    assert "rmmbridge.servicedesk.models" in names
    assert "rmmbridge.integrations" in names


def test_importing_every_connector_loads_no_django() -> None:
    code = (
        "import sys, rmmbridge.connectors, rmmbridge.connectors.testing, rmmbridge.connectors.testing.server\n"
        "import rmmbridge.connectors.http\n"
        "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={"PATH": "", "PYTHONPATH": str(ROOT / "src")})
    assert result.stdout.strip() == "", f"importing connectors loaded Django modules: {result.stdout.strip()}"


@pytest.mark.parametrize("slug", sorted(EMULATORS))
def test_each_emulator_imports_on_its_own(slug: str) -> None:
    """Importing a vendor's emulator first (as uvicorn or a test may) must not hit a circular import."""
    code = (
        f"import rmmbridge.connectors.{slug}.emulator as e\n"
        "from rmmbridge.connectors.testing import EMULATORS\n"
        f"state_class, create_app = EMULATORS[{slug!r}]\n"
        "create_app(state_class(devices=3))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={"PATH": "", "PYTHONPATH": str(ROOT / "src")})
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize("slug", sorted(REGISTRY))
def test_every_vendor_has_an_emulator_and_contract_tests(slug: str) -> None:
    folder = CONNECTORS / slug
    assert (folder / "emulator" / "app.py").is_file(), f"{slug} has no emulator/app.py"
    assert slug in EMULATORS, f"{slug} has no line in rmmbridge.connectors.testing.EMULATORS"
    state_class, create_app = EMULATORS[slug]
    assert state_class.slug == slug
    assert callable(create_app)
    contract = ROOT / "tests" / "connectors" / slug / "test_contract.py"
    assert contract.is_file(), f"{slug} has no tests/connectors/{slug}/test_contract.py"
    assert "ConnectorContract" in contract.read_text(encoding="utf-8"), f"{contract} must subclass ConnectorContract"


@pytest.mark.parametrize("slug", sorted(REGISTRY))
def test_every_vendor_folder_has_the_same_shape(slug: str) -> None:
    missing = [name for name in VENDOR_SHAPE if not (CONNECTORS / slug / name).is_file()]
    assert not missing, f"connectors/{slug} lacks {missing} (see DEVELOPERS.md, 'Adding a vendor')"


def test_every_emulator_is_registered_as_a_connector() -> None:
    assert set(EMULATORS) <= set(REGISTRY)


@pytest.mark.parametrize("vendor", MANIFESTS, ids=lambda m: m.slug)
def test_each_manifest_agrees_with_its_connector_emulator_and_alert_hooks(vendor: VendorManifest) -> None:
    assert (vendor.slug, vendor.name) == (vendor.connector.slug, vendor.connector.name)
    assert vendor.connector.__module__ == f"rmmbridge.connectors.{vendor.slug}.connector"
    assert vendor.emulator_module == f"rmmbridge.connectors.{vendor.slug}.emulator"
    state_class, _ = EMULATORS[vendor.slug]
    assert state_class.__name__ == vendor.emulator_state
    assert vendor.notes, f"{vendor.slug}: say which alert channels apply (shown on the Alerting page)"
    alerts_file = CONNECTORS / vendor.slug / "alerts.py"
    if vendor.alerts:
        assert vendor.alerts == f"rmmbridge.connectors.{vendor.slug}.alerts"
        assert any(vendor.alert_hook(name) for name in ALERT_HOOKS), f"{vendor.alerts} defines no alert hook"
    else:
        assert not alerts_file.exists(), f"{vendor.slug} has alerts.py but its manifest does not name it"
    if vendor.email_sender:
        assert "@" in vendor.email_sender


def test_every_vendor_folder_has_a_manifest_and_the_lists_derive_from_them() -> None:
    folders = {p.parent.name for p in CONNECTORS.glob("*/connector.py")}
    slugs = [m.slug for m in MANIFESTS]
    assert len(slugs) == len(set(slugs)), "a slug appears in two manifests"
    assert set(slugs) == folders, "every connectors/<slug>/ folder needs one manifest in connectors/registry.py"
    assert list(REGISTRY) == slugs
    assert set(EMULATORS) == set(slugs)
    # the alert intake reads its hooks from the manifests, not from module names of its own
    for path in (ROOT / "src" / "rmmbridge" / "alerts").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "import_module(f\"rmmbridge.connectors." not in text, f"{path} imports vendor modules by name"


# --- the item loop and the URL normaliser belong to the connector core (DEVELOPERS.md, "Connector core") ----------

#: The vendor modules that read the vendor's lists; alerts.py parses pushed bodies (a bad body is refused, not
#: skipped) and the emulator is the other side of the wire.
LIST_READERS = ("client.py", "connector.py", "normalize.py")
#: Inputs a URL field is probed with: accepted, normalised, refused for each reason normalize_url has.
URL_PROBES = ("", "   ", "host.example.com", "https://a.example.com", "https://a.example.com/x?y=1",
              "https://user@a.example.com", "https://a.example.com/some/path", "http://a.example.com",
              "ftp://127.0.0.1", "http://127.0.0.1:8765/", "https://[::1]:99", "https://a b.example.com",
              "https://a.example.com:99999")


def _catches_skippable(handler: ast.ExceptHandler) -> bool:
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(getattr(t, "id", getattr(t, "attr", "")) == "SkippableRecordError" for t in types if t is not None)


def item_loops_in(source: str, where: str) -> list[str]:
    """Where a module runs an item loop of its own: catches SkippableRecordError inside a loop, counts skipped
    items itself (note_skipped/skip) or has a loop helper method (_skip, _items, _stream) — Connector.stream's job."""
    found: list[str] = []
    loops = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)

    def visit(node: ast.AST, in_loop: bool, in_class: bool = False) -> None:
        line = f"{where}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.ExceptHandler) and in_loop and _catches_skippable(node):
            found.append(f"{line} catches SkippableRecordError in a loop")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in (
            "note_skipped", "skip", "_skip"
        ):
            found.append(f"{line} calls {node.func.attr}()")
        elif isinstance(node, ast.FunctionDef) and node.name in ("_skip", "_items", "_stream") and in_class:
            found.append(f"{line} defines its own item loop {node.name}()")
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            in_loop = False  # a function defined in a loop runs where it is called
        for child in ast.iter_child_nodes(node):
            visit(child, in_loop or isinstance(node, loops), isinstance(node, ast.ClassDef))

    visit(ast.parse(source), False)
    return found


def own_item_loops(slug: str) -> list[str]:
    return [loop for name in LIST_READERS
            for loop in item_loops_in((CONNECTORS / slug / name).read_text(encoding="utf-8"), f"{slug}/{name}")]


def iterators_not_streaming(slug: str) -> list[str]:
    """The iter_* methods of a vendor's connector class from which no self.stream/self.parse call is reachable."""
    tree = ast.parse((CONNECTORS / slug / "connector.py").read_text(encoding="utf-8"))
    [cls] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == REGISTRY[slug].__name__]
    methods = {n.name: n for n in cls.body if isinstance(n, ast.FunctionDef)}

    def calls_of(method: ast.FunctionDef) -> set[str]:
        return {n.func.attr for n in ast.walk(method) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                and isinstance(n.func.value, ast.Name) and n.func.value.id == "self"}

    def streams(name: str, seen: set[str]) -> bool:
        called = calls_of(methods[name])
        if called & {"stream", "parse"}:
            return True
        return any(streams(c, seen | {c}) for c in called if c in methods and c not in seen)

    return [name for name in methods if name.startswith("iter_") and not streams(name, {name})]


def test_the_item_loop_check_finds_a_vendor_local_loop() -> None:
    source = (
        "class C:\n"
        "    def iter_devices(self):\n"
        "        for raw in self.client.iter_pages('/d'):\n"
        "            try:\n"
        "                yield to_device(raw)\n"
        "            except (ValueError, errors.SkippableRecordError) as exc:\n"
        "                self.note_skipped(exc.message)\n"
    )
    assert item_loops_in(source, "c.py") == ["c.py:6 catches SkippableRecordError in a loop",
                                             "c.py:7 calls note_skipped()"]
    streaming = "def iter_devices(self):\n    return self.stream(self.client.iter_pages('/d'), D, 'd', to_device)\n"
    assert item_loops_in(streaming, "c.py") == []
    fallback = "try:\n    account = whoami()\nexcept SkippableRecordError:\n    account = from_policies()\n"
    assert item_loops_in(fallback, "c.py") == []  # one answer read with a fallback is not an item loop


@pytest.mark.parametrize("slug", sorted(REGISTRY))
def test_every_vendor_reads_its_lists_through_connector_stream(slug: str) -> None:
    """Page → item → skip is Connector.stream's loop (or Connector.parse for a single item); a vendor's stop
    logic is its pages iterable (paging.pages_until), never a second item loop."""
    loops = own_item_loops(slug)
    assert not loops, f"{slug} skips items itself: {loops}; use self.stream(pages, Model, what, convert)"
    missing = iterators_not_streaming(slug)
    assert not missing, f"{slug}: {missing} read no list through self.stream/self.parse"


@pytest.mark.parametrize("slug", sorted(REGISTRY))
def test_every_vendor_validates_its_url_with_the_core_normaliser(slug: str) -> None:
    """A vendor states its hosts and API paths as a connectors.urls.UrlRule; its URL field validates exactly as
    normalize_url does with that rule (same accepted values, same messages)."""
    module = import_module(f"rmmbridge.connectors.{slug}.credentials")
    source = (CONNECTORS / slug / "credentials.py").read_text(encoding="utf-8")
    imported = imported_modules(ast.parse(source), CONNECTORS / slug / "credentials.py")
    assert "urllib.parse" not in imported, f"{slug}/credentials.py parses URLs itself; use connectors.urls"
    rules = [v for v in vars(module).values() if isinstance(v, UrlRule)]
    assert len(rules) == 1, f"{slug}/credentials.py must state its hosts and paths as one UrlRule"
    connector = REGISTRY[slug]
    model = connector.credentials_model
    field = model.model_fields[connector.base_url_key]
    state_class, _ = EMULATORS[slug]
    good = state_class(devices=1).default_credentials()
    for probe in URL_PROBES:
        try:
            expected: str | ValueError = normalize_url(probe, rules[0])
        except ValueError as exc:
            expected = exc
        if isinstance(expected, ValueError):
            with pytest.raises(ConnectorConfigError) as info:
                model.parse({**good, connector.base_url_key: probe})
            assert f"{field.title}: Value error, {expected}" in info.value.message, (slug, probe)
        else:
            spec = model.parse({**good, connector.base_url_key: probe})
            assert getattr(spec, connector.base_url_key) == expected, (slug, probe)


# --- The layer table of DEVELOPERS.md: every app imports only the apps its row allows (and what they allow) ------

SRC = ROOT / "src" / "rmmbridge"


def layer_table(text: str) -> dict[str, set[str]]:
    """App -> the apps it may import, read from the 'Layout and ownership' table (transitively closed).

    "everything above" is every earlier row; "everything above web" every earlier row but web; "everything" all rows.
    """
    rows: list[tuple[str, str]] = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`rmmbridge."):
            rows.append((cells[0].strip("`").removeprefix("rmmbridge."), cells[2]))
    apps = [app for app, _ in rows]
    allowed: dict[str, set[str]] = {}
    for index, (app, may) in enumerate(rows):
        earlier = set(apps[:index])
        if may == "everything above":
            allowed[app] = earlier
        elif may.startswith("everything above "):
            allowed[app] = earlier - {may.removeprefix("everything above ").strip()}
        elif may.startswith("everything"):
            allowed[app] = set(apps) - {app}
        else:
            allowed[app] = {a for a in apps if a != app and a in {w.strip(" ,()") for w in may.split()}}
    changed = True
    while changed:  # an app may import what the apps it may import may import
        changed = False
        for app, below in allowed.items():
            closure = below.union(*(allowed[b] for b in below)) - {app}
            if closure != below:
                allowed[app], changed = closure, True
    return allowed


LAYERS = layer_table((ROOT / "DEVELOPERS.md").read_text(encoding="utf-8"))


def upward_imports(app: str, allowed: dict[str, set[str]]) -> list[str]:
    """'file: module' for every import (function-level, management commands included) of an app not allowed."""
    bad = []
    for path in sorted((SRC / app).rglob("*.py")):
        for name in imported_modules(ast.parse(path.read_text(encoding="utf-8")), path):
            parts = name.split(".")
            inside = parts[0] == "rmmbridge" and len(parts) > 1 and parts[1] in allowed and parts[1] != app
            if inside and parts[1] not in allowed[app]:
                bad.append(f"{path.relative_to(ROOT)}: {name}")
    return bad


def test_the_layer_table_is_read_from_developers_md() -> None:
    assert {"common", "connectors", "servicedesk", "integrations", "sync", "alerts", "web"} <= set(LAYERS)
    assert "web" not in LAYERS["api"]
    assert "integrator" in LAYERS["api"]
    assert LAYERS["servicedesk"] == {"common"}
    assert "common" in LAYERS["integrations"]  # through servicedesk
    assert "sync" not in LAYERS["alerts"]
    assert "sync" in LAYERS["integrator"]


@pytest.mark.parametrize("app", sorted(LAYERS))
def test_each_app_imports_only_the_apps_below_it(app: str) -> None:
    bad = upward_imports(app, LAYERS)
    assert not bad, f"rmmbridge.{app} imports apps its row in DEVELOPERS.md does not allow: {bad}"


def test_the_layer_check_catches_an_import_running_up(tmp_path: Path) -> None:
    """The check reads function-level imports too (the serve command used to import web this way)."""
    source = "def serve() -> None:\n    from rmmbridge.web.embedded import start_embedded_services\n"
    names = imported_modules(ast.parse(source), SRC / "servicedesk" / "management" / "commands" / "serve.py")
    assert "rmmbridge.web.embedded" in names
    assert "web" not in LAYERS["servicedesk"]
