#!/usr/bin/env python3
"""Checks the links in README.md and docs/: relative links to files, #anchors
to headings (GitHub's slugs), repository paths named in the text
(Sources/..., Tests/..., scripts/..., docs/...), Swift file names, and
sections cited by name (`MEMORY_STORE.md, "The hit path"`), which must be a
heading or a bold paragraph title of that file. Section citations in the
comments of Sources/ are checked too.

Run from the repository root, with no arguments: prints every broken link as
FILE:LINE: message and exits 1 if there is any, 0 otherwise.
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
LINK = re.compile(r"(?<!\!)\[[^\]]*\]\(([^)\s]+)\)")
# A repository path in running text or code spans: a known top-level folder,
# then path characters, ending in a file name with an extension or a slash.
PATH = re.compile(r"(?<![\w./-])((?:Sources|Tests|scripts|docs)/[\w./+{},-]*[\w/}])")
FENCE = re.compile(r"^\s*(```|~~~)")
SWIFT_FILE = re.compile(r"(?<![\w/+.-])([A-Z][\w+]*\.swift)\b")
# `FILE.md, "Section"`, also as `[FILE.md](FILE.md), "Section"`.
CITATION = re.compile(r"([\w./-]*[A-Z_]+\.md)(?:\]\([^)]*\))?,\s+\"([^\"]+)\"")
BOLD_TITLE = re.compile(r"^\s*(?:[-*]\s+)?\*\*([^*]+)\*\*")


def documents():
    yield ROOT / "README.md"
    yield from sorted((ROOT / "docs").rglob("*.md"))


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"`([^`]*)`", r"\1", heading.strip())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path, cache={}):
    if path not in cache:
        found, seen, fenced = set(), {}, False
        for line in path.read_text(encoding="utf-8").splitlines():
            if FENCE.match(line):
                fenced = not fenced
                continue
            match = None if fenced else re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
            if match:
                base = slug(match.group(1))
                count = seen.get(base, 0)
                seen[base] = count + 1
                found.add(base if count == 0 else f"{base}-{count}")
        cache[path] = found
    return cache[path]


def section_names(path, cache={}):
    """Slugs of a file's headings and of the bold titles that open its paragraphs."""
    if path not in cache:
        names = set(anchors(path))
        for line in path.read_text(encoding="utf-8").splitlines():
            match = BOLD_TITLE.match(line)
            if match:
                names.add(slug(match.group(1).rstrip(".:")))
        cache[path] = names
    return cache[path]


def cites_missing_section(base, file_name, section):
    """The problem with a `FILE.md, "Section"` citation, or None."""
    candidates = [base / file_name, ROOT / file_name, ROOT / "docs" / file_name]
    path = next((c.resolve() for c in candidates if c.exists()), None)
    if path is None:
        return f"cites a missing file: {file_name}"
    wanted = slug(section)
    if any(name == wanted or name.startswith(wanted + "-") or name.startswith(wanted)
           for name in section_names(path)):
        return None
    return f'cites a missing section: {file_name}, "{section}"'


def swift_files(cache=[]):
    if not cache:
        cache.append({p.name for folder in ("Sources", "Tests") for p in (ROOT / folder).rglob("*.swift")})
    return cache[0]


def expand(path):
    """`Sources/LLMCache/{Cache,Store}/` names two paths."""
    match = re.search(r"\{([^}]*)\}", path)
    if not match:
        return [path]
    return [p for part in match.group(1).split(",")
            for p in expand(path[:match.start()] + part.strip() + path[match.end():])]


def check(document):
    problems = []
    fenced = False
    for number, line in enumerate(document.read_text(encoding="utf-8").splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        where = f"{document.relative_to(ROOT)}:{number}"
        if not fenced:
            for target in LINK.findall(line):
                if re.match(r"^[a-z][a-z0-9+.-]*:", target):
                    continue  # http:, https:, mailto:
                file_part, _, anchor = target.partition("#")
                path = (document.parent / file_part).resolve() if file_part else document
                if not path.exists():
                    problems.append(f"{where}: link to a missing file: {target}")
                elif anchor and path.suffix == ".md" and anchor not in anchors(path):
                    problems.append(f"{where}: link to a missing heading: {target}")
        for name in SWIFT_FILE.findall(line):
            if name not in swift_files():
                problems.append(f"{where}: names a Swift file that does not exist: {name}")
        for mention in PATH.findall(line):
            for candidate in expand(mention.rstrip(".,")):
                if "*" in candidate or "<" in candidate:
                    continue
                if not (ROOT / candidate).exists():
                    problems.append(f"{where}: names a path that does not exist: {candidate}")
    lines = document.read_text(encoding="utf-8").splitlines()
    problems += check_citations(document, document.parent, [(n, l) for n, l in enumerate(lines, 1)])
    return problems


def check_citations(file, base, numbered_lines):
    """Citations in running text that may wrap: the lines are joined first."""
    problems, text, starts = [], "", []
    for number, line in numbered_lines:
        starts.append((len(text), number))
        text += line.strip() + " "
    for match in CITATION.finditer(text):
        problem = cites_missing_section(base, match.group(1), match.group(2))
        if problem:
            number = max(n for offset, n in starts if offset <= match.start())
            problems.append(f"{file.relative_to(ROOT)}:{number}: {problem}")
    return problems


def check_comments(source):
    comments = []
    for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1):
        code, marker, comment = line.partition("//")
        if marker:
            comments.append((number, comment.lstrip("/")))
    return check_citations(source, ROOT, comments)


def main():
    problems = [p for document in documents() for p in check(document)]
    problems += [p for source in sorted((ROOT / "Sources").rglob("*.swift")) for p in check_comments(source)]
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
