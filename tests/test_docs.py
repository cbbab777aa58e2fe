"""The documents describe the product as it is: their tables are the ones the committed reports give, and
no file narrates when or in which order the work was done."""
import re
import subprocess
import sys

from conftest import ROOT


def test_tables_match_the_committed_reports():
    r = subprocess.run([sys.executable, str(ROOT / "docs" / "tables.py"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_no_file_narrates_the_work():
    narration = re.compile(r"session|today|\bissue \d+|earlier code", re.I)
    files = [p for d in ("README.md", "docs", "results", "tutorials", "minadmm", "benchmarks")
             for p in ([ROOT / d] if (ROOT / d).is_file() else (ROOT / d).rglob("*"))
             if p.is_file() and p.suffix in (".md", ".py", ".json", ".log", ".txt")]
    hits = [f"{p.relative_to(ROOT)}:{i}: {line.strip()[:80]}" for p in files
            for i, line in enumerate(p.read_text(errors="replace").splitlines(), 1) if narration.search(line)]
    assert not hits, "\n".join(hits[:20])
