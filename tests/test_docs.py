"""The project's documentation holds together: every page is indexed, every reference to a page
and a section resolves, and the README's layout names exactly what `git ls-files` holds."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SCANNED = ("lab", "tests", "benchmarks", "dashboards", "notebooks", "docs")
# `docs/methods.md`, then `§6`, `§1, §6` or `#6-comparisons-that-hold-up`
REFERENCE = re.compile(r"docs/([\w./-]+?\.md)((?:#[\w-]+)|(?:[ \t]*§\d+(?:,[ \t]*§\d+)*))?")
RELATIVE_LINK = re.compile(r"\]\(((?!https?:|#)[^)#\s]+\.md)(#[\w-]+)?\)")


def texts() -> dict[Path, str]:
    """The text of every file a reader meets: code, tests, notebooks (cell sources), docs."""
    found = {ROOT / "README.md": (ROOT / "README.md").read_text(encoding="utf-8")}
    for folder in SCANNED:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in (".py", ".md") and "checkpoint" not in str(path):
                found[path] = path.read_text(encoding="utf-8")
            elif path.suffix == ".ipynb" and ".ipynb_checkpoints" not in path.parts:
                cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
                found[path] = "\n".join("".join(c["source"]) for c in cells)
    return found


def sections(page: Path) -> tuple[set[str], set[str]]:
    """A page's numbered sections (`## 6. Title` → '6') and its headings' GitHub anchors."""
    numbers, anchors = set(), set()
    for line in page.read_text(encoding="utf-8").splitlines():
        heading = re.match(r"#+ (.*)", line)
        if heading:
            title = heading.group(1).strip()
            number = re.match(r"§?(\d+)\.? ", title)
            if number:
                numbers.add(number.group(1))
            anchors.add(re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-"))
    return numbers, anchors


def problems(page: Path, where: str, anchor: str | None) -> list[str]:
    """What is wrong with a reference at `where` to `page` and `anchor` (§N list or #heading)."""
    name = page.relative_to(ROOT) if page.is_relative_to(ROOT) else page
    if not page.is_file():
        return [f"{where}: {name} does not exist"]
    numbers, anchors = sections(page)
    if not anchor:
        return []
    if anchor.startswith("#"):
        return [] if anchor[1:] in anchors else [f"{where}: {name} has no heading {anchor}"]
    missing = [n for n in re.findall(r"§(\d+)", anchor) if n not in numbers]
    return [f"{where}: {name} has no section §{n}" for n in missing]


def test_the_sections_helper_reads_numbers_and_anchors(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("# Title\n## 6. Comparisons that hold up\n## §7 Other\n")
    assert sections(page) == ({"6", "7"}, {"title", "6-comparisons-that-hold-up", "7-other"})
    assert problems(page, "x", "§6, §7") == []
    assert problems(page, "x", "§6, §8") == [f"x: {page} has no section §8"]
    assert problems(page, "x", "#7-other") == []
    assert problems(tmp_path / "q.md", "x", None) == [f"x: {tmp_path / 'q.md'} does not exist"]


def test_every_reference_to_a_page_and_section_resolves():
    wrong, seen = [], 0
    for path, text in texts().items():
        for line_no, line in enumerate(text.splitlines(), 1):
            where = f"{path.relative_to(ROOT)}:{line_no}"
            for match in REFERENCE.finditer(line):
                seen += 1
                wrong += problems(DOCS / match.group(1), where, match.group(2))
            if path.suffix == ".md":
                for match in RELATIVE_LINK.finditer(line):
                    target = (path.parent / match.group(1)).resolve()
                    if target.is_relative_to(ROOT):
                        wrong += problems(target, where, match.group(2))
    assert seen >= 10  # the code cites the methods page throughout
    assert not wrong, "\n".join(wrong)


def test_nothing_cites_a_document_the_project_does_not_contain():
    outside = ("METHODS" + ".md", "../" + "shared")  # the developers' notes, not shipped
    found = [f"{path.relative_to(ROOT)}: {name}" for path, text in texts().items()
             for name in outside if name in text]
    assert not found, "\n".join(found)


def test_every_docs_page_is_listed_in_the_index():
    index = (DOCS / "README.md").read_text(encoding="utf-8")
    pages = sorted(p.name for p in DOCS.glob("*.md") if p.name != "README.md")
    assert "methods.md" in pages and "architecture.md" in pages
    missing = [name for name in pages if f"]({name})" not in index]
    assert not missing, f"docs/README.md does not link {', '.join(missing)}"


def tracked() -> list[str]:
    done = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                          check=True)
    return done.stdout.splitlines()


def layout() -> list[str]:
    """The paths the README's Layout block names (the first word of each unindented line)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"^## Layout\n\n```\n(.*?)```", readme, re.S | re.M)
    assert block, "README.md has no Layout block"
    return [line.split()[0] for line in block.group(1).splitlines() if line[:1].strip()]


def test_readme_layout_names_only_tracked_paths_and_every_package():
    files = tracked()
    named = layout()
    exists = [p for p in named if p in files or any(f.startswith(p) for f in files
                                                     if p.endswith("/"))]
    assert named and set(named) == set(exists), f"not in git ls-files: {set(named) - set(exists)}"
    packages = {f.rsplit("/", 1)[0] + "/" for f in files
                if f.startswith("lab/") and f.endswith("/__init__.py") and f.count("/") == 2}
    modules = {f for f in files if re.fullmatch(r"lab/\w+\.py", f)} - {"lab/__init__.py",
                                                                        "lab/__main__.py"}
    folders = {f.split("/")[0] + "/" for f in files if "/" in f and not f.startswith((".", "lab/"))}
    missing = sorted((packages | modules | folders) - set(named))
    assert not missing, f"README's layout omits {', '.join(missing)}"


def test_readme_method_table_names_tracked_modules():
    files = tracked()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    modules = re.findall(r"^\|[^|]+\| `(lab/[\w/.]+)` \|", readme, re.M)
    assert len(modules) >= 5
    for module in modules:
        assert module in files or any(f.startswith(module) for f in files if module.endswith("/")
                                      ), f"README's method table names {module}, not in the tree"


def test_the_methods_page_has_its_numbered_sections():
    numbers, _ = sections(DOCS / "methods.md")
    assert {str(n) for n in range(9)} <= numbers  # §0-§8, as the code cites them
