"""The README and docs/: links that resolve inside the repository, a first page a newcomer
reads in one go, and a command table that matches the command line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
LINK = re.compile(r"\]\(([^)\s]+)\)")
#: A terminal screen, in lines, and how many screens the first page may take.
SCREEN_LINES, FIRST_PAGE_SCREENS = 50, 2


def links(path: Path) -> list[str]:
    return LINK.findall(path.read_text())


@pytest.mark.parametrize("doc", [README, *DOCS], ids=lambda p: p.name)
def test_every_link_resolves_inside_the_repository(doc):
    for target in links(doc):
        if target.startswith(("http://", "https://", "#")):
            continue
        path = (doc.parent / target.split("#")[0]).resolve()
        assert path.is_relative_to(ROOT), f"{doc.name}: {target} points outside the repository"
        assert path.exists(), f"{doc.name}: {target} does not exist"


def test_nothing_user_facing_names_a_design_file_outside_the_repository():
    texts = [README, *DOCS, *ROOT.glob("bench_configs/*.yaml")]
    for path in texts:
        text = path.read_text()
        assert "../shared/DESIGN" not in text and "DESIGN.md" not in text, path
    helps = subprocess.run([sys.executable, "-m", "rig", "--help"], capture_output=True,
                           text=True, check=True).stdout
    for command in re.findall(r"^    (\w[\w-]*)\s", helps, re.M):
        text = subprocess.run([sys.executable, "-m", "rig", command, "--help"],
                              capture_output=True, text=True).stdout
        assert "DESIGN.md" not in text, command


def test_the_first_page_fits_on_two_screens_and_holds_the_quick_start():
    lines = README.read_text().splitlines()
    end = next(i for i, line in enumerate(lines) if line.startswith("## ")
               and "Quick start" not in line)
    first_page = lines[:end]
    assert len(first_page) <= SCREEN_LINES * FIRST_PAGE_SCREENS
    text = "\n".join(first_page)
    assert "rig run bench_configs/emulated.yaml" in text and "pytest" in text
    assert "**Contents:**" in text


def test_the_track_status_codes_are_explained():
    from rig import records

    text = " ".join(README.read_text().split())
    codes = {name.removeprefix("TRACK_STATUS_").lower(): value
             for name, value in vars(records).items() if name.startswith("TRACK_STATUS_")}
    assert len(codes) == 4
    for name, code in codes.items():
        assert f"**{code} {name}**" in text, name


def test_the_command_table_lists_exactly_the_commands_rig_has():
    from rig.cli import COMMANDS

    table = re.findall(r"^\| `rig ([\w-]+)", README.read_text(), re.M)
    assert sorted(set(table)) == sorted(COMMANDS)


def test_the_readme_s_example_config_is_valid(tmp_path):
    from rig.bench.config import load_bench_config

    example = re.search(r"```yaml\n(.*?)```", README.read_text(), re.S).group(1)
    path = tmp_path / "bench.yaml"
    path.write_text(example)
    loaded = load_bench_config(path)
    assert loaded.config.station.operator and len(loaded.config.sensors) == 2


@pytest.mark.parametrize("config", sorted((ROOT / "bench_configs").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_every_shipped_bench_config_names_the_schema_editors_complete_from(config):
    first = config.read_text().splitlines()[0]
    match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
    assert match, first
    assert (config.parent / match.group(1)).resolve() == (
        ROOT / "rig" / "schemas" / "bench_config.schema.json")
