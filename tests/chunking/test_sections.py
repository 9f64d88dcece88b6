"""Markdown sections and heading paths."""

from __future__ import annotations

from itertools import pairwise

from quarry.chunking import split_sections

HANDBOOK = """Preamble before any heading.

# Handbook

Welcome.

## Leave

### Sick leave

Call your manager.

```python
# not a heading
```

### Holiday ###

Book ahead.

## Pay

Monthly.

# Appendix
#hashtag is not a heading
    # indented four spaces is code
~~~
## inside a tilde fence
~~~
End.
"""


def test_heading_paths_follow_levels_and_skip_fences() -> None:
    sections = split_sections(HANDBOOK)
    assert [s.heading_path for s in sections] == [
        (),
        ("Handbook",),
        ("Handbook", "Leave"),
        ("Handbook", "Leave", "Sick leave"),
        ("Handbook", "Leave", "Holiday"),
        ("Handbook", "Pay"),
        ("Appendix",),
    ]
    assert sections[0].start == 0
    assert sections[-1].end == len(HANDBOOK)
    assert all(a.end == b.start for a, b in pairwise(sections))
    assert HANDBOOK[sections[3].start :].startswith("### Sick leave")
    assert "# not a heading" in HANDBOOK[sections[3].start : sections[3].end]
    assert "## inside a tilde fence" in HANDBOOK[sections[-1].start : sections[-1].end]


def test_no_headings_is_one_section() -> None:
    assert [(s.start, s.end, s.heading_path) for s in split_sections("just text\n\nmore")] == [(0, 15, ())]
    assert [(s.start, s.end) for s in split_sections("")] == [(0, 0)]


def test_a_shallower_heading_pops_deeper_ones_and_titles_are_cleaned() -> None:
    text = "### Deep first\nx\n# Top #\ny\n#### Skip levels\nz\n## Mid\nw\n#\nempty title\n"
    paths = [s.heading_path for s in split_sections(text)]
    assert paths == [
        ("Deep first",),
        ("Top",),
        ("Top", "Skip levels"),
        ("Top", "Mid"),
        ("",),
    ]


def test_unclosed_fence_runs_to_the_end() -> None:
    text = "# A\n```\n# not a heading\n"
    assert [s.heading_path for s in split_sections(text)] == [("A",)]
