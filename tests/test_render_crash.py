"""A render is all or nothing against a crash at any point, and one at a time per out/ENV
(issue 22, class 2).

Each render here runs in a child process (forked: no interpreter start-up, so a run takes a
few milliseconds and the loops stay fast) through the command line, and is killed with
SIGKILL: from outside at random moments, or by the test's own hook at its k-th change to
the disk (every write, fsync, rename, unlink, rmdir and mkdir, for every k until a render
completes). The hook lives in the test, patched into the child's `os` module only. After
each kill: `render --check` either finds the tree exactly the old or the new one or names an
interrupted render, and the next render, of either YAML, exits 0 and leaves exactly the tree
a clean render gives (no temporary, no journal, no refusal of a half-written file)."""

from __future__ import annotations

import fcntl
import os
import random
import re
import signal
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from tests.conftest import MINIMAL, write_tree

# Each has a team with no project (its root emptied): render removes a team's root only after an
# emptied one, so these trees can follow each other in any order (docs/safety.md, "Nothing orphaned").
OLD = MINIMAL + "  algo: {}\n"
# New: every platform file with the CIDR changes, a team goes (deletions, its folder), one comes (a new folder).
NEW = MINIMAL.replace("10.0.0.0/16", "10.1.0.0/16") + "  ml: {}\n"
MANIFEST = ".tfgen-manifest.json"
OTHER = MINIMAL.replace("10.0.0.0/16", "10.2.0.0/16").replace("fraud-detection", "fraud-scoring")
STEPS = ("write", "fsync", "replace", "rename", "unlink", "rmdir", "mkdir")  # every change to the disk
WAIT = 60.0
JOURNAL, MARK = ".tfgen-journal.json", ".tfgen-journal.committed"  # docs/safety.md: the commit, written ahead


def invoke(config: Path, out: Path, *args: str):
    return CliRunner().invoke(cli, ["--config-dir", str(config), "--out-dir", str(out), "render", "test", *args])


def tree(folder: Path) -> dict[str, object]:
    found: dict[str, object] = {}
    for top, folders, files in os.walk(folder):
        for name in folders + files:
            path = Path(top) / name
            found[str(path.relative_to(folder))] = ("link" if path.is_symlink() else "folder" if path.is_dir()
                                                    else path.read_bytes())
    return found


@pytest.fixture
def configs(tmp_path: Path) -> dict[str, Path]:
    return {name: write_tree(tmp_path / f"config-{name}", {"test.yaml": text})
            for name, text in (("old", OLD), ("new", NEW), ("other", OTHER))}


@pytest.fixture
def expected(configs, tmp_path: Path) -> dict[str, dict]:
    """The trees clean renders give: the old one, and the old one rendered again as new or other."""
    trees = {}
    for name in ("old", "new", "other"):
        out = tmp_path / f"expected-{name}"
        assert invoke(configs["old"], out).exit_code == 0
        assert invoke(configs[name], out).exit_code == 0
        trees[name] = tree(out / "test")
    return trees


def fresh_old(configs, folder: Path) -> Path:
    out = folder / "out"
    assert invoke(configs["old"], out).exit_code == 0
    return out


def fork_render(config: Path, out: Path, report: Path, hook=None) -> int:
    """A child process running `tfgen render test`; it writes its output (and any traceback) to report."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 70
        try:
            if hook:
                hook()
            result = invoke(config, out)
            text = result.output
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                text += f"Traceback: {result.exception!r}\n"
            report.write_text(text)
            code = result.exit_code
        finally:
            os._exit(code)
    return pid


def wait(pid: int, timeout: float = WAIT) -> int:
    """The child's exit code, or -SIGNAL when a signal ended it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.002)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError(f"render {pid} did not end within {timeout} s")


def kill_at(step: int):
    """A hook for the child: SIGKILL at its step-th change to the disk."""
    def install() -> None:
        calls = [0]

        def counted(real):
            def call(*args, **kwargs):
                calls[0] += 1
                if calls[0] == step:
                    os.kill(os.getpid(), signal.SIGKILL)
                return real(*args, **kwargs)
            return call

        for name in STEPS:
            setattr(os, name, counted(getattr(os, name)))
    return install


def kill_when(call: str, name: str):
    """A hook for the child: SIGKILL when it first calls os.CALL on NAME (before the call)."""
    def install() -> None:
        real = getattr(os, call)

        def call_or_die(path, *args, **kwargs):
            if path == name:
                os.kill(os.getpid(), signal.SIGKILL)
            return real(path, *args, **kwargs)
        setattr(os, call, call_or_die)
    return install


def kill_at_first_rename():
    """A hook for the child: SIGKILL at its first os.replace, the commit's first rename."""
    def install() -> None:
        def die(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGKILL)
        os.replace = die
    return install


def lock_together(ready: int, go: int, pause: float):
    """A hook for the child: at its first flock (the environment's lock) it says so on `ready`
    and waits on `go`, which the parent opens to every child at once; then, after a pause, it locks."""
    def install() -> None:
        real = fcntl.flock

        def barrier(fd, operation):
            fcntl.flock = real
            os.write(ready, b"r")
            os.read(go, 1)
            time.sleep(pause)
            return real(fd, operation)
        fcntl.flock = barrier
    return install


def assert_old_new_or_interrupted(configs, expected, out: Path) -> None:
    """What a crash leaves: exactly the old tree, exactly the new one, or a tree `render --check`
    names as an interrupted render (of either YAML); never a mixed tree that passes for current."""
    checks = {name: invoke(configs[name], out, "--check") for name in ("old", "new")}
    for result in checks.values():
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    current = [name for name, result in checks.items() if result.exit_code == 0]
    if all("interrupted render" in result.output for result in checks.values()):
        assert current == []
    else:
        assert len(current) == 1, {name: result.output for name, result in checks.items()}
        assert tree(out / "test") == expected[current[0]]


def assert_next_render_is_clean(configs, expected, out: Path, name: str, committed: bool = False) -> None:
    """The next render exits 0 with exactly the tree a clean one gives; once a commit reached its
    manifest's rename (committed), it is never said to be rolled back."""
    result = invoke(configs[name], out)
    assert result.exit_code == 0, result.output
    assert "Error" not in result.output
    assert not (committed and "rolled back" in result.output), result.output
    assert tree(out / "test") == expected[name]
    assert invoke(configs[name], out, "--check").exit_code == 0


def test_a_render_killed_at_each_step_leaves_old_or_new_and_a_clean_next_render(configs, expected, tmp_path):
    """The issue's kill at the fifth rename (four new files under the old manifest, refused next
    as hand edits), at every step of the commit: killed at each, then rendered again, half the
    time with the old YAML (rolled back or overwritten), half with the new (completed)."""
    step = 0
    while True:
        step += 1
        out = fresh_old(configs, tmp_path / f"step-{step}")
        code = wait(fork_render(configs["new"], out, tmp_path / f"report-{step}", kill_at(step)))
        if code == 0:  # past the last step: the render ran to its end
            assert tree(out / "test") == expected["new"]
            break
        assert code == -signal.SIGKILL, (tmp_path / f"report-{step}").read_text()
        committed = (out / "test" / MANIFEST).read_bytes() == expected["new"][MANIFEST]
        assert_old_new_or_interrupted(configs, expected, out)
        assert_next_render_is_clean(configs, expected, out, "old" if step % 2 else "new", committed)
    assert step > 40  # every write, fsync, rename and deletion of the commit was a place to die


def commit_window(window: Path):
    """A hook for the child: the moments (time.monotonic, one clock for every process) its
    commit begins (the journal is made) and ends (the journal is removed), written to window."""
    def install() -> None:
        real_open, real_unlink, times = os.open, os.unlink, []

        def opened(path, *args, **kwargs):
            if path == JOURNAL:
                times.append(time.monotonic())
            return real_open(path, *args, **kwargs)

        def unlinked(path, *args, **kwargs):
            real_unlink(path, *args, **kwargs)
            if path == JOURNAL:
                window.write_text(f"{times[0]} {time.monotonic()}")
        os.open, os.unlink = opened, unlinked
    return install


def test_a_render_killed_at_random_moments_leaves_old_or_new_and_a_clean_next_render(configs, expected, tmp_path):
    """The issue's `kill -9 at a random moment` (a mixed tree in 1 of 30 runs): 30 runs, each killed
    at a random moment, two in three of them within the commit (the journal's making to its
    removal, as one timed render shows), where a kill can hurt, the rest anywhere in the run."""
    out = fresh_old(configs, tmp_path / "timing")
    started = time.monotonic()
    assert wait(fork_render(configs["new"], out, tmp_path / "timing.txt", commit_window(tmp_path / "window"))) == 0
    duration = time.monotonic() - started
    begins, ends = (float(t) - started for t in (tmp_path / "window").read_text().split())
    assert 0 < begins < ends < duration
    rng = random.Random(22)
    for run in range(30):
        out = fresh_old(configs, tmp_path / f"run-{run}")
        pid = fork_render(configs["new"], out, tmp_path / f"report-{run}")
        time.sleep(rng.uniform(begins, ends) if run % 3 else rng.uniform(0, duration))
        os.kill(pid, signal.SIGKILL)
        code = wait(pid)
        assert code in (0, -signal.SIGKILL), (tmp_path / f"report-{run}").read_text()
        assert_old_new_or_interrupted(configs, expected, out)
        assert_next_render_is_clean(configs, expected, out, "old" if run % 2 else "new")


@pytest.mark.parametrize("left", ["marked", "unmarked"])
def test_a_render_recovering_a_crash_killed_at_each_step_is_recovered_in_turn(configs, expected, tmp_path, left):
    """Recovery is a commit's second half, and can be killed too: a render killed with its
    journal marked (nothing renamed yet) or unmarked (every temporary written), then the render
    recovering it killed at each of its own steps, then a third render: it exits 0 with the
    tree a clean render gives. The recovering render renders what the recovery leaves (the new
    YAML after a completion, the old after a rollback), so its steps are the recovery's."""
    first = kill_at_first_rename() if left == "marked" else kill_when("open", MARK)
    name = "new" if left == "marked" else "old"
    step = 0
    while True:
        step += 1
        out = fresh_old(configs, tmp_path / f"step-{step}")
        assert wait(fork_render(configs["new"], out, tmp_path / f"first-{step}", first)) == -signal.SIGKILL
        assert (out / "test" / MARK).exists() == (left == "marked") and (out / "test" / JOURNAL).exists()
        code = wait(fork_render(configs[name], out, tmp_path / f"second-{step}", kill_at(step)))
        if code == 0:
            break
        assert code == -signal.SIGKILL, (tmp_path / f"second-{step}").read_text()
        assert_old_new_or_interrupted(configs, expected, out)
        assert_next_render_is_clean(configs, expected, out, name, committed=left == "marked")
    assert tree(out / "test") == expected[name]
    assert step > 10


def refused_by(text: str, pid: int) -> bool:
    """The lock's refusal; the holder's pid is named where the kernel's table of locks tells it
    (not on every file system: btrfs reports other device numbers)."""
    return bool(re.match(rf"Error: another render of test is running( \(pid {pid}\))?: ", text))


def test_two_renders_at_once_take_turns(configs, expected, tmp_path):
    """The issue's two renders at once (7 of 25 runs mixed, one with a traceback): 25 pairs,
    each of a different YAML into one out/ENV, brought to the lock together (each child waits
    at its first flock until the test releases both), then a random pause of up to 3 ms each,
    so either may come first, and the second while the first reads the tree or commits. Each
    exits 0, or 1 with the lock's error; the tree is exactly one of the two, never mixed; and
    since both meet at the lock, which a render holds for its whole run, it refuses one in
    (nearly) every run."""
    rng = random.Random(4)
    refused = 0
    for run in range(25):
        out = fresh_old(configs, tmp_path / f"race-{run}")
        reports = {name: tmp_path / f"race-{run}-{name}.txt" for name in ("new", "other")}
        ready_r, ready_w = os.pipe()
        go_r, go_w = os.pipe()
        try:
            pids = {name: fork_render(configs[name], out, reports[name],
                                      lock_together(ready_w, go_r, rng.uniform(0, 0.003))) for name in reports}
            arrived = b""
            while len(arrived) < 2:
                arrived += os.read(ready_r, 2)
            os.write(go_w, b"gg")
        finally:
            for fd in (ready_r, ready_w, go_r, go_w):
                os.close(fd)
        codes = {name: wait(pid) for name, pid in pids.items()}
        for name, code in codes.items():
            text = reports[name].read_text()
            assert "Traceback" not in text, text
            if code == 0:
                continue
            assert code == 1 and refused_by(text, pids["other" if name == "new" else "new"]), text
            refused += 1
        assert 0 in codes.values()
        assert tree(out / "test") in (expected["new"], expected["other"])
        assert "interrupted" not in invoke(configs["new"], out, "--check").output
    assert refused > 0  # the lock was met, not only sidestepped by timing


def test_a_second_render_while_one_runs_is_refused_with_its_pid(configs, expected, tmp_path):
    """Deterministic: the first render is held at its first rename; a second render, and
    `render --check`, are refused at once with the first one's pid, and write nothing."""
    out = fresh_old(configs, tmp_path / "held")
    paused_r, paused_w = os.pipe()
    go_r, go_w = os.pipe()

    def hold() -> None:
        real = os.replace

        def first_rename(*args, **kwargs):
            os.replace = real
            os.write(paused_w, b"x")
            os.read(go_r, 1)
            return real(*args, **kwargs)
        os.replace = first_rename

    pid = fork_render(configs["new"], out, tmp_path / "held.txt", hold)
    try:
        assert os.read(paused_r, 1) == b"x"
        during = tree(out / "test")
        for args in ((), ("--check",)):
            result = invoke(configs["other"], out, *args)
            assert result.exit_code == 1 and refused_by(result.output, pid), result.output
            assert result.output.endswith(f": {out / 'test'} is in use; wait for it to finish, then run this again\n")
        assert tree(out / "test") == during
    finally:
        os.write(go_w, b"x")
        code = wait(pid)
    assert code == 0, (tmp_path / "held.txt").read_text()
    assert tree(out / "test") == expected["new"]
    assert invoke(configs["other"], out).exit_code == 0  # the lock went with the first render
    assert tree(out / "test") == expected["other"]


def test_a_journal_cut_short_is_rolled_back(configs, expected, tmp_path):
    """A power cut while the journal itself was written leaves it torn: nothing else was
    written yet, so the next render removes it and renders."""
    out = fresh_old(configs, tmp_path)
    (out / "test" / ".tfgen-journal.json").write_text('{"renames": [["platform/.logs.tf.0123')
    checked = invoke(configs["old"], out, "--check")
    assert checked.exit_code == 1 and "interrupted render (`tfgen render test` finishes it)" in checked.output
    result = invoke(configs["new"], out)
    assert result.exit_code == 0 and result.output.startswith(
        f"test: rolled back the render interrupted in {out / 'test'}\n")
    assert tree(out / "test") == expected["new"]


def test_a_recovery_before_a_refusal_is_reported(configs, expected, tmp_path):
    """A render rolls back (or completes) a crashed one's commit before it decides its refusals:
    refused, it said nothing of the change it had made to out/ENV."""
    out = fresh_old(configs, tmp_path)
    assert wait(fork_render(configs["new"], out, tmp_path / "killed.txt", kill_when("open", MARK))) == -signal.SIGKILL
    providers = out / "test" / "platform" / "providers.tf"
    providers.write_text(providers.read_text() + "# a hand edit\n")
    result = invoke(configs["new"], out)
    assert result.exit_code == 1 and "refusing to overwrite files tfgen did not write" in result.output, result.output
    assert result.output.endswith(f"\n(Before this, test: rolled back the render interrupted in {out / 'test'}.)\n")
    assert not (out / "test" / JOURNAL).exists()


# --- each step on disk before the next: what a power cut keeps -------------------------------


def recording(monkeypatch) -> list[tuple[str, str]]:
    """Every unlink, rmdir and fsync of this process from now on, in order, as (call, real
    path); a descriptor's path read from /proc/self/fd (Linux, as CI)."""
    ops: list[tuple[str, str]] = []

    def where(fd: int, name: str = "") -> str:
        return os.path.join(os.readlink(f"/proc/self/fd/{fd}"), name) if name else os.readlink(f"/proc/self/fd/{fd}")

    for call in ("unlink", "rmdir"):
        def done(path, *, dir_fd=None, real=getattr(os, call), call=call):
            real(path, dir_fd=dir_fd)
            ops.append((call, where(dir_fd, path) if dir_fd is not None else os.path.realpath(path)))
        monkeypatch.setattr(os, call, done)
    real_fsync = os.fsync

    def synced(fd):
        real_fsync(fd)
        ops.append(("fsync", where(fd)))
    monkeypatch.setattr(os, "fsync", synced)
    return ops


def test_a_removed_folder_is_synced_in_the_folder_above(configs, tmp_path, monkeypatch):
    """A folder's removal is a change to the folder above, on disk only once that is synced:
    after `rmdir teams/algo`, teams/ was never synced, so a power cut could bring back the root."""
    out = fresh_old(configs, tmp_path)
    ops = recording(monkeypatch)
    assert invoke(configs["new"], out).exit_code == 0
    removed = [(at, path) for at, (call, path) in enumerate(ops) if call == "rmdir"]
    assert [path for _, path in removed] == [os.path.realpath(out / "test/teams/algo")]
    for at, path in removed:
        above = os.path.dirname(path)
        while not os.path.isdir(above):  # the nearest folder still there
            above = os.path.dirname(above)
        assert ("fsync", above) in ops[at + 1:], ops[at:]


def test_the_journal_is_gone_on_disk_before_its_mark_goes(configs, tmp_path, monkeypatch):
    """A mark alone is only cleaned up; a journal alone is rolled back. So the journal's removal
    is synced before the mark is removed, never the other way round."""
    out = fresh_old(configs, tmp_path)
    ops = recording(monkeypatch)
    assert invoke(configs["new"], out).exit_code == 0
    env = os.path.realpath(out / "test")
    journal, mark = ops.index(("unlink", f"{env}/{JOURNAL}")), ops.index(("unlink", f"{env}/{MARK}"))
    assert journal < mark and ("fsync", env) in ops[journal + 1:mark], ops[journal:]
    assert ops[-1] == ("fsync", env)  # and the mark's removal too


def test_a_render_after_a_crash_holds_to_the_recovered_manifest(configs, tmp_path):
    """A YAML adding team ml with a project; its render killed past its mark, so the next render
    completes it. A render of a YAML without ml must then refuse to drop ml's root (nothing
    orphaned): the check read the manifest before the lock and the recovery, found no ml, and
    removed the root with its backend. (Two renders taking turns met the same stale manifest.)"""
    with_ml = write_tree(tmp_path / "config-ml", {
        "test.yaml": OLD + "  ml:\n    execution_role: ml-sagemaker\n    projects:\n      churn: {}\n"})
    out = fresh_old(configs, tmp_path)
    assert wait(fork_render(with_ml, out, tmp_path / "killed.txt", kill_at_first_rename())) == -signal.SIGKILL
    completed = tmp_path / "completed"
    assert invoke(with_ml, completed).exit_code == 0  # the tree the crashed render's commit gives
    result = invoke(configs["other"], out)
    assert result.exit_code == 1 and "team ml is no longer in the YAML" in result.output, result.output
    assert result.output.endswith(f"\n(Before this, test: completed the render interrupted in {out / 'test'}.)\n")
    assert tree(out / "test") == tree(completed / "test")
