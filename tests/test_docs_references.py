"""The clinical reference, docs/clinical.md, is cited so that every reader can open it.

- No file in the repository names the old notes file, which lived outside the repository
  (the files in ``PENDING`` excepted, for now).
- Every section (§N, "section N") and reference number ([n]) cited from docs/clinical.md
  exists there; a trainee-facing "clinical reference section N" says where to find it.
- Every Markdown link to clinical.md resolves to docs/clinical.md, and its anchor exists.
- A scenario's teaching text, with its reference, reads as paragraphs in the debrief.
"""

from __future__ import annotations

import os
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLINICAL = ROOT / "docs" / "clinical.md"
#: The old name, spelt in two parts so that this file does not cite it.
OLD = "CLINICAL" + ".md"

#: Files allowed to name the old notes file for a while (none now); the test fails when a
#: file here no longer names it, so the list cannot go stale.
PENDING: frozenset[str] = frozenset()

_SKIP_DIRS = {".git", ".venv", "__pycache__", "build", "dist", "recordings", "debriefs"}
_MAX_BYTES = 5_000_000


def _walk() -> list[str]:
    out = []
    for here, dirs, files in os.walk(ROOT):
        dirs[:] = [
            d
            for d in dirs
            if d not in _SKIP_DIRS and not d.startswith(".") and not d.endswith(".egg-info")
        ]
        out += [os.path.relpath(os.path.join(here, f), ROOT) for f in files]
    return out


@cache
def repository_texts() -> dict[str, str]:
    """Every text file of the repository (tracked or new, not ignored) by its path."""
    try:
        listing = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout.decode("utf-8", "surrogateescape")
        names = [n for n in listing.split("\0") if n]
    except (OSError, subprocess.SubprocessError):
        names = _walk()  # no git here: walk the tree
    texts = {}
    for name in sorted(set(names)):
        path = ROOT / name
        if not path.is_file() or path.stat().st_size > _MAX_BYTES:
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary
        texts[Path(name).as_posix()] = data.decode("utf-8", "replace")
    return texts


@cache
def sections() -> set[int]:
    return {int(n) for n in re.findall(r"^## §(\d+) ", CLINICAL.read_text("utf-8"), re.M)}


@cache
def anchors() -> set[str]:
    return set(re.findall(r'<a id="([^"]+)"></a>', CLINICAL.read_text("utf-8")))


@cache
def references() -> set[int]:
    text = CLINICAL.read_text("utf-8")
    refs = text[text.index('<a id="references"></a>') :]
    return {int(n) for n in re.findall(r"^- \[(\d+)\] ", refs, re.M)}


def test_the_clinical_reference_has_numbered_sections_with_stable_anchors():
    text = CLINICAL.read_text("utf-8")
    assert sections() == set(range(9))  # §0 to §8, none missing
    for n in sections():
        # The anchor stands right above its heading: links survive a reworded heading.
        assert re.search(rf'<a id="section-{n}"></a>\n## §{n} ', text), n
    assert {"references", "what-this-is-not", "tags"} <= anchors()
    for target in re.findall(r"\]\(#([^)]+)\)", text):
        assert target in anchors(), f"docs/clinical.md links to a missing #{target}"


def test_every_reference_number_in_the_clinical_reference_is_listed():
    text = CLINICAL.read_text("utf-8")
    body = text[: text.index('<a id="references"></a>')]
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", body)}
    for lo, hi in re.findall(r"\[(\d+)\]-\[(\d+)\]", body):
        cited |= set(range(int(lo), int(hi) + 1))
    assert cited, "no reference cited"
    assert cited <= references(), f"cited but not listed: {sorted(cited - references())}"


def test_no_file_names_the_old_notes_file():
    texts = repository_texts()
    naming = {name for name, text in texts.items() if OLD in text}
    stray = sorted(naming - PENDING)
    assert not stray, f"cite docs/clinical.md instead of {OLD} in: {', '.join(stray)}"
    done = sorted(PENDING - naming)
    assert not done, f"{', '.join(done)} no longer name {OLD}: remove them from PENDING"


def _cited_sections(text: str, markdown: bool) -> tuple[list[tuple[int, str]], list[str]]:
    """(section, context) for every section a text cites from docs/clinical.md, and the
    trainee-facing citations that do not say where the reference is."""
    found = []
    unplaced = []
    flat = " ".join(text.split())
    # "docs/clinical.md §1, §3 and §7"
    for m in re.finditer(r"docs/clinical\.md §(\d+)((?:(?:,| and) §\d+)*)", flat):
        found += [(int(n), m.group(0)) for n in re.findall(r"§(\d+)", m.group(0))]
    # "clinical reference §2", "clinical reference section 2"
    for m in re.finditer(r"clinical reference,? (?:§|section )(\d+)", flat):
        found.append((int(m.group(1)), m.group(0)))
        # Outside a Markdown link, the reader needs the file's name with it.
        if not markdown and "docs/clinical.md" not in flat[m.end() : m.end() + 40]:
            unplaced.append(m.group(0))
    # any § on a line that names the clinical reference (not a sub-section like §4.4)
    for line in text.splitlines():
        if "clinical.md" in line or "clinical reference" in line:
            found += [(int(n), line.strip()) for n in re.findall(r"§(\d+)(?![.\d])", line)]
    return found, unplaced


def test_every_cited_section_and_reference_exists():
    problems = []
    for name, text in repository_texts().items():
        if name in ("docs/clinical.md", "tests/test_docs_references.py"):
            continue
        found, unplaced = _cited_sections(text, name.endswith(".md"))
        problems += [f"{name}: {c!r} does not say docs/clinical.md after it" for c in unplaced]
        for n, context in found:
            if n not in sections():
                problems.append(f"{name}: §{n} is not a section of docs/clinical.md: {context}")
        for line in text.splitlines():
            if "docs/clinical.md" in line:
                for n in re.findall(r"\[(\d+)\]", line):
                    if int(n) not in references():
                        problems.append(f"{name}: reference [{n}] is not listed: {line.strip()}")
    assert not problems, "\n".join(problems)


def test_markdown_links_to_the_clinical_reference_resolve():
    links = 0
    problems = []
    pattern = re.compile(r"\[([^\]]*)\]\(([^)\s#]*clinical\.md)(?:#([^)\s]*))?\)")
    for name, text in repository_texts().items():
        if not name.endswith(".md"):
            continue
        for label, target, anchor in pattern.findall(text):
            links += 1
            where = f"{name}: [{label}]({target}{'#' + anchor if anchor else ''})"
            if (ROOT / name).parent.joinpath(target).resolve() != CLINICAL.resolve():
                problems.append(f"{where} does not lead to docs/clinical.md")
            if anchor and anchor not in anchors():
                problems.append(f"{where}: no anchor #{anchor} in docs/clinical.md")
            said = re.search(r"§(\d+)", label)
            if said and anchor != f"section-{said.group(1)}":
                problems.append(f"{where}: the text says §{said.group(1)}, the link goes elsewhere")
    assert not problems, "\n".join(problems)
    assert links >= 10  # the docs do cite it (README, detection, evoked, audio, ...)


def test_the_readme_points_to_the_clinical_reference():
    assert "](docs/clinical.md)" in (ROOT / "README.md").read_text("utf-8")


@pytest.mark.parametrize("case", ["routine_mvd", "mvd_lsr_persists", "nerve_irritation"])
def test_the_debrief_shows_the_teaching_text_and_its_reference_as_paragraphs(case):
    from simulation.scenario_engine import ScenarioNotice, ScenarioTruth
    from simulation.scenario_parser import load_scenario
    from training.debrief import debrief_html
    from training.score import score_trainee

    sc = load_scenario(ROOT / "scenarios" / f"{case}.toml")
    phase = (ScenarioNotice("phase", 0, 0.0, "opening", "opening"),)
    truth = ScenarioTruth(1000.0, ("L Mentalis",), (), phase, phase, (), 1000, 1000)
    page = debrief_html(sc.title, sc.teaching, truth, [], [], [], score_trainee(truth, [], []))
    paragraphs = [p for p in re.split(r"\n\s*\n", sc.teaching) if p.strip()]
    intro = page[page.index("</h1>") : page.index("<h2>")]
    assert intro.count("<p>") == len(paragraphs) > 1
    assert re.search(r"clinical reference section \d, in docs/clinical\.md", intro)
