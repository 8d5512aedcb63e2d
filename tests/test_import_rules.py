"""The layer rules of the README's layout section, checked on every import statement (those
inside functions too): imports only point downward, CLI -> pipeline/kubeflow -> components,
trainer_module; inside trainer_module, its packages in LAYERS order; nothing but the CLI imports
the jobs; the library's errors name config fields, never CLI flags."""
import ast
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("trainer_module", "components", "pipeline", "kubeflow", "yt8m", "system", "yt8m_cli")

# (where: path prefix, forbidden: module prefix, why)
EXECUTOR_CODE = ("trainer_module/", "components/")
RULES = (
    *((where, "pipeline", "executor code never imports the pipeline definition")
      for where in EXECUTOR_CODE),
    *((where, "kubeflow", "executor code never imports the Kubeflow runner")
      for where in EXECUTOR_CODE),
    *((f"{types}/", "trainer_module", "artifact types import only TFX")
      for types in ("yt8m", "system")),
    ("trainer_module/", "yt8m_cli", "the library never imports the CLI"),
    ("components/", "yt8m_cli", "components never import the CLI"),
    ("components/", "trainer_module.jobs", "components never import a CLI job"),
    ("pipeline/", "kubeflow", "the pipeline definition knows no runner but its own"),
    ("pipeline/", "yt8m_cli", "the pipeline never imports the CLI"),
    ("kubeflow/", "yt8m_cli", "the Kubeflow runner never imports the CLI"),
)
JOBS = "trainer_module.jobs"
# trainer_module's packages, lowest first: a module imports its own package and lower layers
# only (so no two packages import each other); the top-level modules (io_utils, errors, ...)
# are below them all. Packages of one layer do not import each other.
LAYERS = (("data",), ("evaluation",), ("models",), ("train",), ("export",),
          ("ingest", "tfx_entry"), ("jobs",))
RANK = {package: rank for rank, layer in enumerate(LAYERS, start=1) for package in layer}


def layer_violation(rel: str, module: str) -> str | None:
    """Why ``rel`` (a path under trainer_module/) may not import ``module``, or None."""
    if not (rel.startswith("trainer_module/") and _under(module, "trainer_module")):
        return None
    source = rel.split("/")
    target = module.split(".")
    mine = source[1] if len(source) > 2 else None  # None: a top-level module
    theirs = target[1] if len(target) > 1 and target[1] in RANK else None
    if theirs is None or theirs == mine:
        return None
    if mine is None or RANK[theirs] >= RANK[mine]:
        return (f"trainer_module layers: {mine or 'a top-level module'} may not import "
                f"{theirs} (order: {' < '.join('/'.join(layer) for layer in LAYERS)})")
    return None


def _imports(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                yield f"{node.module}.{alias.name}", node.lineno


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _parsed(root: str, packages):
    """Yields (path relative to root with /, its AST) of every .py file under the packages."""
    for package in packages:
        for folder, _, files in os.walk(os.path.join(root, package)):
            for name in sorted(f for f in files if f.endswith(".py")):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as f:
                    yield os.path.relpath(path, root).replace(os.sep, "/"), ast.parse(f.read())


def violations(root: str) -> list[str]:
    """``path:line imports module (rule)`` for every import that breaks a rule under root."""
    found = []
    for rel, tree in _parsed(root, PACKAGES):
        for module, line in _imports(tree):
            for where, forbidden, why in RULES:
                if rel.startswith(where) and _under(module, forbidden):
                    found.append(f"{rel}:{line} imports {module} ({why})")
            if _under(module, JOBS) and not rel.startswith(("yt8m_cli/", "trainer_module/jobs/")):
                found.append(f"{rel}:{line} imports {module} (only the CLI imports jobs)")
            why = layer_violation(rel, module)
            if why:
                found.append(f"{rel}:{line} imports {module} ({why})")
    return found


def test_the_project_keeps_its_import_rules():
    assert violations(ROOT) == []


def test_a_broken_rule_is_reported(tmp_path):
    """The checker itself: an executor module that imports a job and the pipeline."""
    for package in PACKAGES:
        (tmp_path / package).mkdir()
    (tmp_path / "trainer_module" / "tfx_entry").mkdir()
    (tmp_path / "trainer_module" / "tfx_entry" / "run_fn.py").write_text(
        "def run_fn(args):\n    from trainer_module.jobs import train\n    import pipeline.create\n")
    (tmp_path / "components" / "c.py").write_text("from yt8m_cli import main\n")
    assert violations(str(tmp_path)) == [
        "trainer_module/tfx_entry/run_fn.py:2 imports trainer_module.jobs.train "
        "(only the CLI imports jobs)",
        "trainer_module/tfx_entry/run_fn.py:2 imports trainer_module.jobs.train (trainer_module "
        "layers: tfx_entry may not import jobs (order: data < evaluation < models < train < "
        "export < ingest/tfx_entry < jobs))",
        "trainer_module/tfx_entry/run_fn.py:3 imports pipeline.create (executor code never "
        "imports the pipeline definition)",
        "components/c.py:1 imports yt8m_cli.main (components never import the CLI)"]


def test_a_broken_layer_is_reported(tmp_path):
    """The layering inside trainer_module: train importing export (above it), a top-level
    module importing a package, ingest importing tfx_entry (one layer); downward is fine."""
    for package in PACKAGES:
        (tmp_path / package).mkdir()
    for package in ("train", "ingest", "export"):
        (tmp_path / "trainer_module" / package).mkdir()
    (tmp_path / "trainer_module" / "train" / "a.py").write_text(
        "from trainer_module.export import archive\nfrom trainer_module.data import features\n"
        "from trainer_module.train import loop\nfrom trainer_module import io_utils\n")
    (tmp_path / "trainer_module" / "io_utils.py").write_text("from trainer_module.data import x\n")
    (tmp_path / "trainer_module" / "ingest" / "b.py").write_text(
        "import trainer_module.tfx_entry.run_fn\n")
    (tmp_path / "trainer_module" / "export" / "c.py").write_text(
        "from trainer_module.train import model_flags\n")
    order = "order: data < evaluation < models < train < export < ingest/tfx_entry < jobs"
    assert sorted(violations(str(tmp_path))) == [
        "trainer_module/ingest/b.py:1 imports trainer_module.tfx_entry.run_fn (trainer_module "
        f"layers: ingest may not import tfx_entry ({order}))",
        "trainer_module/io_utils.py:1 imports trainer_module.data.x (trainer_module layers: a "
        f"top-level module may not import data ({order}))",
        "trainer_module/train/a.py:1 imports trainer_module.export.archive (trainer_module "
        f"layers: train may not import export ({order}))"]


FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9_]*")
FLAG_BEFORE_A_VALUE = re.compile(r"(?<![\w-])--$")  # f"--{name} ...": the flag is computed
LIBRARY = ("trainer_module", "components", "pipeline", "kubeflow")


def flag_names_in_errors(root: str) -> list[str]:
    """``path:line: text`` for every string in a ``raise`` statement of the library that names a
    command-line flag (``--top_k``) instead of a config field (`` `top_k` ``)."""
    def flag_like(text: ast.JoinedStr | ast.Constant) -> list[ast.Constant]:
        parts = text.values if isinstance(text, ast.JoinedStr) else [text]
        return [part for i, part in enumerate(parts)
                if isinstance(part, ast.Constant) and isinstance(part.value, str)
                and (FLAG.search(part.value) or (
                    FLAG_BEFORE_A_VALUE.search(part.value) and i + 1 < len(parts)
                    and isinstance(parts[i + 1], ast.FormattedValue)))]

    return list(dict.fromkeys(  # a constant inside an f-string is walked twice
        f"{rel}:{const.lineno}: {const.value.strip()}"
        for rel, tree in _parsed(root, LIBRARY)
        for node in ast.walk(tree) if isinstance(node, ast.Raise)
        for text in ast.walk(node) if isinstance(text, (ast.JoinedStr, ast.Constant))
        for const in flag_like(text)))


def test_library_errors_name_config_fields_not_flags():
    assert flag_names_in_errors(ROOT) == []


def test_a_flag_in_a_library_error_is_reported(tmp_path):
    for package in LIBRARY:
        (tmp_path / package).mkdir()
    (tmp_path / "pipeline" / "c.py").write_text(
        'def check(k, name):\n    if k < 1:\n        raise ValueError(f"--top_k must be >= 1, got {k}")\n'
        '    if k > 9:\n        raise ValueError(f"--{name} must be <= 9")\n'
        '    raise ValueError("`top_k` is fine, and so is a--b")\n')
    assert flag_names_in_errors(str(tmp_path)) == ["pipeline/c.py:3: --top_k must be >= 1, got",
                                                   "pipeline/c.py:5: --"]
