"""Every example in the README and the docs site still works.

- Python blocks run, page by page, in a fresh interpreter, with small settings
  (one epoch of two steps, a slice of MNIST) substituted for the page's.
- `$ kgan ...` lines followed by their output run, and print that output.
- Every other `kgan ...` command line names a real command and real options,
  and a `kgan train RECIPE --set ...` line resolves (the recipe and its keys).
- Every `python bin/SCRIPT ...` line names a script that has those options.
"""

import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
import textwrap

import click
import pytest

from kgan import config
from kgan.cli import main as kgan_main

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
FENCE = re.compile(r"^( *)```(\w*)\n(.*?)^\1```", re.S | re.M)

# The small settings the examples run with here: (pattern, replacement).
SMALL = [
    (r"\bepochs=\d+", "epochs=1, steps_per_epoch=2"),
    (r'split="train"', 'split="train[:256]"'),
]


def _blocks(page, languages):
    text = page.read_text(encoding="utf-8")
    return [textwrap.dedent(m.group(3)) for m in FENCE.finditer(text)
            if m.group(2) in languages]


def _command_lines(page):
    """`(commands, transcripts)` of a page's shell blocks: the `kgan ...` and `python bin/...`
    command lines (continuations joined, comments, prompts and environment assignments
    removed), and `(command, output)` for each `$ kgan ...` line shown with its output."""
    commands, transcripts = [], []
    for block in _blocks(page, ("bash", "console", "")):
        lines = block.replace("\\\n", " ").splitlines()
        prompted = any(line.startswith("$ ") for line in lines)
        for i, line in enumerate(lines):
            if prompted and not line.startswith("$ "):
                continue  # output shown after a prompt
            line = line.removeprefix("$ ")
            if prompted and line.startswith("kgan "):
                output = []
                for following in lines[i + 1:]:
                    if following.startswith("$ "):
                        break
                    output.append(following)
                transcripts.append((line, " ".join(" ".join(output).split())))
                continue
            line = line.split(" #")[0].strip()
            for part in re.split(r"&&|;|\|", line):
                part = re.sub(r"^(\w+=\S+ )+", "", part.strip())  # environment assignments
                if part.startswith("kgan ") or part.startswith("python bin/"):
                    commands.append(part)
    return commands, transcripts


def _pages_with(languages):
    return [page for page in PAGES if _blocks(page, languages)]


@pytest.fixture
def exported(tmp_path):
    """`exported/mnist` in a fresh working directory: an export made by kgan's fixtures."""
    shutil.copytree(ROOT / "tests" / "fixtures" / "v0_1" / "cgan-r1-export",
                    tmp_path / "exported" / "mnist")
    return tmp_path


# Each page's examples run in a namespace of their own, all pages in one interpreter (one
# TensorFlow start-up), each from the same fresh working directory.
RUN_PAGES = """
import os, sys, traceback
failed = []
for name, code in PAGES:
    try:
        exec(compile(code, name, "exec"), {"__name__": "__main__"})
    except BaseException:
        failed.append(name)
        print(f"--- {name} failed:", file=sys.stderr)
        traceback.print_exc()
sys.exit(f"pages whose examples failed: {failed}" if failed else 0)
"""


def test_python_examples_run(exported):
    pages = []
    for page in _pages_with(("python",)):
        code = "\n\n".join(_blocks(page, ("python",)))
        for pattern, replacement in SMALL:
            code = re.sub(pattern, replacement, code)
        pages.append((page.name, code))
    assert {"README.md", "python.md", "export.md", "gan-family.md", "plugins.md"} <= {
        name for name, _ in pages}
    result = subprocess.run([sys.executable, "-c", f"PAGES = {pages!r}\n" + RUN_PAGES],
                            cwd=exported, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr[-5000:]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_kgan_commands_name_real_commands_options_and_recipe_keys(page):
    commands, _ = _command_lines(page)
    for line in commands:
        words = shlex.split(line)
        if words[0] == "python":
            _check_script(page, words[1], words[2:])
            continue
        command, args = kgan_main, words[1:]
        while isinstance(command, click.Group) and args and not args[0].startswith("-"):
            assert args[0] in command.commands, f"{page.name}: `{line}`: no command {args[0]}"
            command, args = command.commands[args[0]], args[1:]
        known = {opt for param in command.params for opt in param.opts + param.secondary_opts}
        known |= {"--help"}
        for arg in args:
            if arg.startswith("-") and not re.fullmatch(r"-?\d[\d.e-]*", arg):
                assert arg.split("=")[0] in known, f"{page.name}: `{line}`: no option {arg}"
        if command.name == "train" and args and args[0].startswith("recipes/"):
            recipe = ROOT / args[0]
            if recipe.is_file():  # kgan's own recipes; a plugin package's need it installed
                overrides = [args[i + 1] for i, arg in enumerate(args) if arg == "--set"]
                config.resolve(str(recipe), overrides)  # raises on an unknown key or value


def _check_script(page, script, args):
    path = ROOT / script
    assert path.is_file(), f"{page.name}: no script {script}"
    source = path.read_text(encoding="utf-8")
    for arg in args:
        if arg.startswith("--"):
            assert f'"{arg.split("=")[0]}"' in source, f"{page.name}: {script} has no {arg}"


TRANSCRIPTS = [(page, line, output) for page in PAGES
               for line, output in _command_lines(page)[1] if output]


@pytest.mark.parametrize("page, line, output", TRANSCRIPTS,
                         ids=[f"{p.name}:{line[:40]}" for p, line, _ in TRANSCRIPTS])
def test_shown_command_output_is_what_kgan_prints(page, line, output):
    result = subprocess.run([sys.executable, "-c", "from kgan.cli import main; main()",
                             *shlex.split(line)[1:]], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    printed = " ".join((result.stdout + result.stderr).split())
    assert output in printed, f"{page.name}: `{line}` printed:\n{printed}"
