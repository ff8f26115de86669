"""`carnel logs`: the kernel's JSON log shown per process, whatever else the file holds."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from carnel.kernel import logview
from carnel.kernel.logview import show_logs


def record(process: str, event: str, **fields) -> str:
    return json.dumps({"process": process, "event": event, "level": "info",
                       "timestamp": "2026-01-01T00:00:00Z", **fields}) + "\n"


def write_log(run_dir: Path, text: str) -> Path:
    path = run_dir / "log" / "carnel.log"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


class Interrupted:
    """A stand-in for the follower's pause: runs each step in turn, then is a Ctrl-C."""

    def __init__(self, *steps) -> None:
        self.steps = list(steps)

    def __call__(self, _seconds: float) -> None:
        if not self.steps:
            raise KeyboardInterrupt
        self.steps.pop(0)()


def test_one_process_s_lines_are_shown(tmp_path, capsys):
    write_log(tmp_path, record("kernel", "spawned", target="gps") + record("gps", "fix", sats=7))
    assert show_logs(tmp_path, "gps", follow=False) == 0
    assert capsys.readouterr().out.split() == ["2026-01-01T00:00:00Z", "gps", "info", "fix",
                                               "sats=7"]


def test_a_process_with_no_lines_is_said_and_fails_naming_those_there_are(tmp_path, capsys):
    path = write_log(tmp_path, record("kernel", "image_ready") + record("gps", "fix"))
    assert show_logs(tmp_path, "nosuch", follow=False) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (f"carnel logs: no lines from a process named 'nosuch' in {path} "
                   "(it has lines from gps, kernel)\n")


def test_following_a_process_with_no_lines_yet_says_it_waits_once(tmp_path, capsys,
                                                                 monkeypatch):
    path = write_log(tmp_path, record("kernel", "image_ready"))

    def nosuch_starts() -> None:
        with path.open("a") as log:
            log.write(record("nosuch", "service_ready"))

    monkeypatch.setattr(logview.time, "sleep", Interrupted(lambda: None, nosuch_starts,
                                                           lambda: None))
    assert show_logs(tmp_path, "nosuch", follow=True) == 0
    out, err = capsys.readouterr()
    assert err == (f"carnel logs: nothing yet from a process named 'nosuch' in {path} "
                   "(it has lines from kernel): waiting for it (Ctrl-C stops)\n")
    assert "nosuch" in out and "service_ready" in out


def test_a_line_followed_while_half_written_is_shown_whole(tmp_path, capsys, monkeypatch):
    line = record("gps", "fix", sats=7)
    path = write_log(tmp_path, line[:20])

    def rest_written() -> None:
        with path.open("a") as log:
            log.write(line[20:])

    monkeypatch.setattr(logview.time, "sleep", Interrupted(rest_written))
    assert show_logs(tmp_path, None, follow=True) == 0
    assert capsys.readouterr().out.split()[1:] == ["gps", "info", "fix", "sats=7"]


@pytest.mark.parametrize("line", ["[1,2]", '"text"', "5", "null", "{\"process\": \"gp",
                                  "[" * 100_000, "not json at all"])
def test_a_line_that_is_not_a_log_record_is_skipped(tmp_path, capsys, line):
    write_log(tmp_path, f"{line}\n" + record("gps", "fix"))
    assert show_logs(tmp_path, None, follow=False) == 0
    assert show_logs(tmp_path, "gps", follow=False) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and all(" gps " in shown for shown in out)


@pytest.mark.parametrize("fields", [{"process": 5}, {"process": None}, {"process": [1]},
                                    {"level": {"a": 1}}, {"event": None, "timestamp": 3}])
def test_a_record_with_odd_values_is_shown_as_it_is(tmp_path, capsys, fields):
    write_log(tmp_path, json.dumps(fields) + "\n")
    assert show_logs(tmp_path, None, follow=False) == 0
    out = capsys.readouterr().out
    assert all(str(value) in out for value in fields.values())
    assert show_logs(tmp_path, "5", follow=False) == 1  # a number is no process's name


def test_a_last_line_without_its_newline_is_still_read(tmp_path, capsys):
    write_log(tmp_path, record("gps", "fix").rstrip("\n"))
    assert show_logs(tmp_path, "gps", follow=False) == 0
    assert " fix" in capsys.readouterr().out


def test_a_log_that_cannot_be_read_is_one_line_and_a_failure(tmp_path, capsys):
    path = tmp_path / "log" / "carnel.log"
    path.mkdir(parents=True)
    assert show_logs(tmp_path, None, follow=False) == 1
    assert capsys.readouterr().err == f"carnel logs: cannot read {path}: Is a directory\n"


def test_no_log_at_all_means_no_kernel_has_run(tmp_path, capsys):
    assert show_logs(tmp_path, None, follow=False) == 3
    assert "has a kernel run here?" in capsys.readouterr().err


def test_the_log_a_boot_moved_aside_is_shown_first(tmp_path, capsys):
    path = write_log(tmp_path, record("trip", "second_boot"))
    path.with_name("carnel.log.1").write_text(record("trip", "first_boot"))
    assert show_logs(tmp_path, "trip", follow=False) == 0
    events = [line.split()[3] for line in capsys.readouterr().out.splitlines()]
    assert events == ["first_boot", "second_boot"]


def test_following_goes_on_in_the_new_log_after_a_boot_moves_the_old_aside(tmp_path, capsys,
                                                                            monkeypatch):
    path = write_log(tmp_path, record("trip", "old_boot"))

    def rotated() -> None:
        with path.open("a") as log:
            log.write(record("trip", "old_boot_last_words"))
        path.replace(path.with_name("carnel.log.1"))
        path.write_text(record("trip", "new_boot"))

    monkeypatch.setattr(logview.time, "sleep", Interrupted(rotated, lambda: None))
    assert show_logs(tmp_path, "trip", follow=True) == 0
    events = [line.split()[3] for line in capsys.readouterr().out.splitlines()]
    assert events == ["old_boot", "old_boot_last_words", "new_boot"]
