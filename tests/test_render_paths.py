"""render reads and writes regular files strictly inside out/ENV, never follows a link, never
deletes a path it did not render itself, and never touches state, lock files or .terraform/,
with --force or without (issue 22, class 1). Each case is one a committed tree can hold:
git commits symbolic links, and the manifest and the journal are files anyone can edit."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from generator.cli import cli
from tests.conftest import MINIMAL, REPO

MANIFEST = ".tfgen-manifest.json"
JOURNAL = ".tfgen-journal.json"  # docs/safety.md: where a render's commit is written ahead
MARK = ".tfgen-journal.committed"  # its commit point
LARGEST = 64 * 2**20  # docs/safety.md: a file at a rendered path larger than this is not one tfgen wrote
MOVED = MINIMAL.replace("eu-west-1", "eu-west-2")  # every providers.tf changes


@pytest.fixture
def tfgen(config_dir: Path, tmp_path: Path):
    out = tmp_path / "out"

    def invoke(*args: str):
        return CliRunner().invoke(cli, ["--config-dir", str(config_dir), "--out-dir", str(out), *args])

    invoke.out, invoke.env, invoke.config_dir = out, out / "test", config_dir
    return invoke


def tree(folder: Path) -> dict[str, object]:
    """Everything below a folder, links as links (never followed): what a commit would show."""
    found: dict[str, object] = {}
    for top, folders, files in os.walk(folder):
        for name in folders + files:
            path = Path(top) / name
            key = str(path.relative_to(folder))
            found[key] = (f"link to {os.readlink(path)}" if path.is_symlink() else "folder" if path.is_dir()
                          else path.read_bytes() if path.stat().st_size < 2**20 else f"{path.stat().st_size} bytes")
    return found


def no_traceback(result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output


def add_to_manifest(env: Path, entries: dict[str, str]) -> None:
    manifest = json.loads((env / MANIFEST).read_text())
    manifest["files"].update(entries)
    (env / MANIFEST).write_text(json.dumps(manifest))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- what the manifest names ------------------------------------------------------------------


@pytest.mark.parametrize("entry", ["../../victim", "platform/../../../victim", "ABSOLUTE", "teams/../../../victim",
                                   "./../../victim"])
def test_a_manifest_entry_outside_out_env_deletes_nothing(tfgen, tmp_path, entry):
    """The issue's `../../../../victim`: listed with the right hash, today's render deletes it as
    "no longer generated". It is refused, named, with and without --force; so is --check."""
    assert tfgen("render", "test").exit_code == 0
    victim = tmp_path / "victim"
    victim.write_text("someone's file\n")
    name = str(victim) if entry == "ABSOLUTE" else entry
    add_to_manifest(tfgen.env, {name: sha(victim.read_bytes())})
    before = tree(tmp_path)
    for args in (("render", "test"), ("render", "test", "--force"), ("render", "test", "--check")):
        result = tfgen(*args)
        no_traceback(result)
        assert result.exit_code == 1
        assert result.output.startswith(f"Error: {tfgen.env / MANIFEST} lists paths tfgen never writes: {name!r}")
        assert "with or without --force" in result.output
        assert tree(tmp_path) == before
    assert victim.read_text() == "someone's file\n"


@pytest.mark.parametrize("entry", ["platform/terraform.tfstate", "platform/terraform.tfstate.backup",
                                   "teams/rc/.terraform.lock.hcl", "platform/.terraform/terraform.tfstate",
                                   "platform/.terraform/providers/registry/aws", "platform/override.tf",
                                   "teams/rc/iam_override.tf", "platform/.terraform.tfstate.lock.info",
                                   "platform/terraform.tfstate.d/dev/terraform.tfstate", "security-groups.env"])
def test_state_lock_files_and_terraform_folders_are_never_touched_even_when_the_manifest_names_them(tfgen, entry):
    """The issue's `platform/terraform.tfstate`: today refused with the advice to use --force, and
    --force deletes the state. No manifest line reaches a path render does not render."""
    assert tfgen("render", "test").exit_code == 0
    target = tfgen.env / entry
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text('{"version": 4, "serial": 7}\n')
    add_to_manifest(tfgen.env, {entry: sha(target.read_bytes())})
    (tfgen.config_dir / "test.yaml").write_text(MOVED)  # a render with something to write
    before = tree(tfgen.env)
    for args in (("render", "test"), ("render", "test", "--force")):
        result = tfgen(*args)
        no_traceback(result)
        assert result.exit_code == 1 and "lists paths tfgen never writes" in result.output
        assert "--force overwrites" not in result.output
        assert tree(tfgen.env) == before
    assert target.read_text() == '{"version": 4, "serial": 7}\n'


STATE = '{"version": 4, "serial": 7}\n'
# Journals a hostile commit could hold, each naming one path outside what render writes; the
# victims exist, so a journal obeyed would change them.
BAD_JOURNALS = {
    "a target outside out/ENV": {"renames": [[".victim.0123456789abcdef.tfgen-tmp", "../../victim"]]},
    "a temporary outside its target's folder": {
        "renames": [["../../.providers.tf.0123456789abcdef.tfgen-tmp", "platform/providers.tf"]]},
    "a deletion of state": {"deletions": [["platform/terraform.tfstate", sha(STATE.encode())]]},
    "the folder two above": {"folders": ["../.."]},
    "an empty folder beside out/ENV": {"folders": ["../spare"]},
}


@pytest.mark.parametrize("marked", [True, False], ids=["marked", "unmarked"])
@pytest.mark.parametrize("case", sorted(BAD_JOURNALS))
def test_a_journal_naming_paths_outside_out_env_is_refused(tfgen, tmp_path, case, marked):
    """The journal (what a crashed render left) is a file anyone can commit: its paths are held to
    the same rule before any is used, played forward (marked) or rolled back (unmarked)."""
    assert tfgen("render", "test").exit_code == 0
    (tmp_path / "victim").write_text("someone's file\n")
    (tmp_path / ".providers.tf.0123456789abcdef.tfgen-tmp").write_text("someone's file\n")
    (tfgen.out / "spare").mkdir()
    (tfgen.env / ".victim.0123456789abcdef.tfgen-tmp").write_text("replacement\n")
    (tfgen.env / "platform/terraform.tfstate").write_text(STATE)
    (tfgen.env / JOURNAL).write_text(json.dumps({"renames": [], "deletions": [], "folders": [], **BAD_JOURNALS[case]}))
    if marked:
        (tfgen.env / MARK).write_text("")
    before = tree(tmp_path)
    for args in (("render", "test"), ("render", "test", "--force")):
        result = tfgen(*args)
        no_traceback(result)
        assert result.exit_code == 1
        assert result.output.startswith(f"Error: {tfgen.env / JOURNAL} names paths render never writes"), result.output
        assert tree(tmp_path) == before


@pytest.mark.parametrize("where", ["renames", "deletions"])
def test_a_hash_that_is_not_a_digest_is_named_as_such(tfgen, where):
    """A manifest's (or a journal's) hash that is no SHA-256 digest is a corrupt file, not a
    path render never writes: said so, naming the path it is the hash of."""
    assert tfgen("render", "test").exit_code == 0
    if where == "renames":
        add_to_manifest(tfgen.env, {"platform/providers.tf": "not-a-digest"})
        words = f"Error: {tfgen.env / MANIFEST} is not a tfgen manifest (the hash of 'platform/providers.tf' is not"
    else:
        (tfgen.env / JOURNAL).write_text(json.dumps({"renames": [], "folders": [],
                                                     "deletions": [["platform/providers.tf", "xyz"]]}))
        (tfgen.env / MARK).write_text("")
        words = f"Error: {tfgen.env / JOURNAL} is not a journal tfgen wrote (the hash of 'platform/providers.tf' is not"
    before = tree(tfgen.env)
    result = tfgen("render", "test")
    no_traceback(result)
    assert result.exit_code == 1 and result.output.startswith(words), result.output
    assert "never writes" not in result.output
    assert tree(tfgen.env) == before


@pytest.mark.parametrize("stateful", [{"platform": 5}, {"platform": [1]}, ["platform"], "x", None])
def test_a_manifest_whose_stateful_list_is_malformed_is_refused(tfgen, stateful):
    """`stateful` (what a protected environment may not lose) was used unchecked: `{"platform": 5}`
    was a TypeError with a traceback."""
    (tfgen.config_dir / "test.yaml").write_text(MINIMAL + "protected: true\n")
    assert tfgen("render", "test").exit_code == 0
    manifest = json.loads((tfgen.env / MANIFEST).read_text())
    manifest["stateful"] = stateful
    (tfgen.env / MANIFEST).write_text(json.dumps(manifest))
    before = tree(tfgen.env)
    for args in (("render", "test"), ("render", "test", "--force"), ("render", "test", "--check")):
        result = tfgen(*args)
        no_traceback(result)
        assert result.exit_code == 1
        assert result.output.startswith(f"Error: {tfgen.env / MANIFEST} is not a tfgen manifest ("), result.output
        assert tree(tfgen.env) == before


@pytest.mark.parametrize("where", [MANIFEST, "marked journal", "unmarked journal"])
def test_json_nested_a_hundred_thousand_deep_is_an_error_not_a_recursion_error(tfgen, where):
    """json's parser recurses: `[[[...` 100,000 deep was a RecursionError with a traceback."""
    assert tfgen("render", "test").exit_code == 0
    deep = "[" * 100_000 + "]" * 100_000
    (tfgen.env / (MANIFEST if where == MANIFEST else JOURNAL)).write_text(deep)
    if where == "marked journal":
        (tfgen.env / MARK).write_text("")
    runs = [("render", "test"), ("render", "test", "--check")] if where == MANIFEST else [("render", "test")]
    for args in runs:
        result = tfgen(*args)
        no_traceback(result)
        if where == MANIFEST:
            assert result.exit_code == 1, result.output
            assert result.output.startswith(f"Error: {tfgen.env / MANIFEST} is not a tfgen manifest ("), result.output
        elif where == "marked journal":
            assert result.exit_code == 1, result.output
            assert result.output.startswith(f"Error: {tfgen.env / JOURNAL} is not a journal tfgen wrote ("), \
                result.output
        else:  # a journal without its mark was being written when render died: nothing else was
            assert result.exit_code == 0 and result.output.startswith("test: rolled back the render interrupted")


@pytest.mark.parametrize("where", ["platform/providers.tf", MANIFEST, JOURNAL])
def test_a_file_too_large_to_be_one_tfgen_wrote_is_refused_unread(tfgen, where):
    """Every file at a path render writes was read whole: one of any size (a sparse 64 MiB here,
    a disk's worth for a hostile commit) is refused as not tfgen's, unread, with or without --force."""
    assert tfgen("render", "test").exit_code == 0
    with open(tfgen.env / where, "ab") as handle:
        handle.truncate(LARGEST + 1)
    (tfgen.config_dir / "test.yaml").write_text(MOVED)
    before = tree(tfgen.env)
    for args in (("render", "test"), ("render", "test", "--force")):
        result = tfgen(*args)
        no_traceback(result)
        assert result.exit_code == 1, result.output
        assert f"{tfgen.env / where}" in result.output and "over 64 MiB, not a file tfgen wrote" in result.output
        assert tree(tfgen.env) == before
    if where == "platform/providers.tf":
        checked = tfgen("render", "test", "--check")
        assert checked.exit_code == 1 and f"over 64 MiB, not a file tfgen wrote: {tfgen.env / where}" in checked.output


def test_deep_and_wide_folders_in_out_env_are_no_trouble(tfgen):
    """render listed all of out/ENV, recursively, keeping a descriptor open per folder: 1,100
    nested folders were a RecursionError, 300 folders under teams/ with 256 descriptors "Too many
    open files". It lists what Terraform reads and it writes: out/ENV, platform/, teams/, teams/*/."""
    # Outside pytest's base folder: its clean-up (shutil.rmtree) recurses as deep, and would fail
    # on a tree this test left behind, killed, in every later session.
    out = Path(tempfile.mkdtemp(prefix="tfgen-deep-"))
    env = out / "test"

    def render(*args: str):
        return CliRunner().invoke(cli, ["--config-dir", str(tfgen.config_dir), "--out-dir", str(out),
                                        "render", "test", *args])

    deep = env / "notes"
    try:
        assert render().exit_code == 0
        deep.mkdir()
        for _ in range(1_100):  # one at a time: pathlib's mkdir(parents=True) recurses as deep
            deep /= "d"
            deep.mkdir()
        for n in range(300):
            (env / "teams" / f"old-{n}").mkdir()
        (tfgen.config_dir / "test.yaml").write_text(MOVED)
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
        try:
            results = [render(), render("--check")]
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        for result in results:
            no_traceback(result)
            assert result.exit_code == 0, result.output
    finally:
        while deep != env:
            if deep.exists():
                deep.rmdir()
            deep = deep.parent
        shutil.rmtree(out)


@pytest.mark.parametrize("case", ["a full disk at a first render's first write", "a folder gone as render makes it",
                                  "an unmarked journal making teams/rc", "a marked journal deleting in teams/rc"])
def test_nothing_in_the_current_directory_is_touched(tfgen, tmp_path, monkeypatch, case):
    """A folder render reaches that does not exist was None, and os takes dir_fd=None for the
    current directory: rolling back a first render stopped by a full disk removed an empty ./rc;
    a folder removed while render made it sent its file to ./; so did journals naming them."""
    cwd = tmp_path / "cwd"
    (cwd / "rc").mkdir(parents=True)
    monkeypatch.chdir(cwd)
    if case == "a full disk at a first render's first write":
        def full(fd, data):
            raise OSError(errno.ENOSPC, "No space left on device")
        monkeypatch.setattr(os, "write", full)
        result = tfgen("render", "test")
        assert result.exit_code == 1 and "nothing was changed" in result.output, result.output
        assert not tfgen.env.exists()
    elif case == "a folder gone as render makes it":
        real_mkdir = os.mkdir

        def vanishing(path, mode=0o777, *, dir_fd=None):
            real_mkdir(path, mode, dir_fd=dir_fd)
            if dir_fd is not None:  # inside out/ENV: someone removes it at once
                os.rmdir(path, dir_fd=dir_fd)
        monkeypatch.setattr(os, "mkdir", vanishing)
        result = tfgen("render", "test")
        assert result.exit_code == 1 and "nothing was changed" in result.output, result.output
    else:
        tfgen.env.mkdir(parents=True)
        journal = ({"renames": [], "deletions": [], "folders": ["teams", "teams/rc"]} if "unmarked" in case
                   else {"renames": [], "deletions": [["teams/rc/iam.tf", "0" * 64]], "folders": []})
        (tfgen.env / JOURNAL).write_text(json.dumps(journal))
        if "unmarked" not in case:
            (tfgen.env / MARK).write_text("")
        result = tfgen("render", "test")
        assert result.exit_code == 0, result.output
    no_traceback(result)
    assert tree(cwd) == {"rc": "folder"}


# --- links ------------------------------------------------------------------------------------


def test_a_link_at_a_temporary_name_is_never_written_through(tfgen, tmp_path):
    """The issue's link at `platform/.providers.tf.tfgen-tmp`: today render overwrites its target
    outside out/ and turns providers.tf into a link that `render --check` calls up to date."""
    assert tfgen("render", "test").exit_code == 0
    outside = tmp_path / "outside.txt"
    outside.write_text("not tfgen's\n")
    for root in ("platform", "teams/rc"):
        (tfgen.env / root / ".providers.tf.tfgen-tmp").symlink_to(outside)
    (tfgen.config_dir / "test.yaml").write_text(MOVED)
    result = tfgen("render", "test")
    no_traceback(result)
    assert result.exit_code == 0, result.output
    assert outside.read_text() == "not tfgen's\n"
    for root in ("platform", "teams/rc"):
        providers = tfgen.env / root / "providers.tf"
        assert not providers.is_symlink() and 'region = "eu-west-2"' in providers.read_text()
        assert (tfgen.env / root / ".providers.tf.tfgen-tmp").is_symlink()  # not render's: left as it is
    assert tfgen("render", "test", "--check").exit_code == 0


@pytest.mark.parametrize("where", ["platform/providers.tf", "teams/rc/iam.tf", MANIFEST])
def test_a_link_where_render_writes_is_refused_and_never_followed(tfgen, tmp_path, where):
    """A link in place of a generated file (or the manifest) is not a file tfgen wrote: render
    refuses it with and without --force, leaves it and its target as they are, and --check
    says so, even when the link's target holds exactly what render would write."""
    assert tfgen("render", "test").exit_code == 0
    link = tfgen.env / where
    outside = tmp_path / "outside"
    outside.write_bytes(link.read_bytes())  # the same bytes: only a link, not a file, differs
    link.unlink()
    link.symlink_to(outside)
    (tfgen.config_dir / "test.yaml").write_text(MOVED)
    before = tree(tmp_path)
    for args in (("render", "test"), ("render", "test", "--force")):
        result = tfgen(*args)
        no_traceback(result)
        named = (f"  {link} (a symbolic link, not a file tfgen wrote)" in result.output  # a generated file's place
                 or result.output == f"Error: {link} is a symbolic link, not a file tfgen wrote; remove it, "
                                     "then render again\n")  # the manifest's
        assert result.exit_code == 1 and named, result.output
        assert tree(tmp_path) == before
    (tfgen.config_dir / "test.yaml").write_text(MINIMAL)  # what it holds is now what render gives
    checked = tfgen("render", "test", "--check")
    no_traceback(checked)
    assert checked.exit_code == 1 and "up to date" not in checked.output
    if where == MANIFEST:  # the file that says what the others are: nothing is compared without it
        assert checked.output == (f"Error: {link} is a symbolic link, not a file tfgen wrote; remove it, "
                                  "then render again\n")
    else:
        assert f"\na symbolic link, not a file tfgen wrote: {link}\n" in "\n" + checked.output


def test_an_out_env_that_is_a_link_is_not_followed(tfgen, tmp_path):
    """The issue's linked `out/prod`: today followed outside out/. Refused, render and --check."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("kept\n")
    tfgen.out.mkdir()
    tfgen.env.symlink_to(elsewhere, target_is_directory=True)
    for args in (("render", "test"), ("render", "test", "--force"), ("render", "test", "--check"),
                 ("render", "--all")):
        result = tfgen(*args)
        no_traceback(result)
        assert result.exit_code == 1
        assert result.output.startswith(f"Error: {tfgen.env} is a symbolic link: tfgen never follows one")
    assert tree(elsewhere) == {"keep.txt": b"kept\n"}


@pytest.mark.parametrize("folder", ["platform", "teams", "teams/rc"])
def test_a_root_folder_that_is_a_link_is_not_followed(tfgen, tmp_path, folder):
    assert tfgen("render", "test").exit_code == 0
    elsewhere = tmp_path / "elsewhere"
    (tfgen.env / folder).rename(elsewhere)
    (tfgen.env / folder).symlink_to(elsewhere, target_is_directory=True)
    (tfgen.config_dir / "test.yaml").write_text(MOVED)
    before = tree(tmp_path)
    for args in (("render", "test"), ("render", "test", "--force"), ("render", "test", "--check")):
        result = tfgen(*args)
        no_traceback(result)
        assert result.exit_code == 1
        assert f"Error: {tfgen.env / folder} is a symbolic link: tfgen never follows one" in result.output
        assert tree(tmp_path) == before


@pytest.mark.parametrize("folder", ["platform", "teams"])
def test_a_link_swapped_in_while_render_runs_is_never_written_through(tfgen, tmp_path, monkeypatch, folder):
    """At the commit's first rename, the folder is moved away and a link to a victim put in its
    place: render goes on in the folder it opened, and nothing reaches the victim."""
    assert tfgen("render", "test").exit_code == 0
    victim, moved = tmp_path / "victim", tmp_path / "moved"
    shutil.copytree(tfgen.env / folder, victim)  # the same names: a write through the link would land
    before = tree(victim)
    real_replace = os.replace

    def swap(*args, **kwargs):
        monkeypatch.setattr(os, "replace", real_replace)
        (tfgen.env / folder).rename(moved)
        (tfgen.env / folder).symlink_to(victim, target_is_directory=True)
        return real_replace(*args, **kwargs)

    monkeypatch.setattr(os, "replace", swap)
    (tfgen.config_dir / "test.yaml").write_text(MOVED)
    result = tfgen("render", "test")
    no_traceback(result)
    assert result.exit_code == 0, result.output
    assert tree(victim) == before
    providers = moved / ("providers.tf" if folder == "platform" else "rc/providers.tf")
    assert 'region = "eu-west-2"' in providers.read_text()  # written where render opened it
    checked = tfgen("render", "test", "--check")
    assert checked.exit_code == 1 and f"Error: {tfgen.env / folder} is a symbolic link" in checked.output


def test_a_file_where_out_env_should_be_is_an_error(tfgen):
    tfgen.out.mkdir()
    tfgen.env.write_text("a file\n")
    for args in (("render", "test"), ("render", "test", "--check")):
        result = tfgen(*args)
        no_traceback(result)
        assert result.exit_code == 1 and result.output.startswith(f"Error: {tfgen.env} is not a folder")
    assert tfgen.env.read_text() == "a file\n"


def test_outputs_file_is_never_written_through_a_link(tmp_path):
    """`tfgen outputs` writes security-groups.env into out/ENV: not through a link either."""
    from generator.errors import TfgenError
    from generator.render.writer import atomic_write

    env = tmp_path / "out" / "test"
    env.mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.write_text("not tfgen's\n")
    (env / "security-groups.env").symlink_to(outside)
    with pytest.raises(TfgenError, match="is a symbolic link"):
        atomic_write(env / "security-groups.env", b"SG=sg-1\n")
    assert outside.read_text() == "not tfgen's\n"
    (env / "security-groups.env").unlink()
    atomic_write(env / "security-groups.env", b"SG=sg-1\n")
    assert tree(env) == {"security-groups.env": b"SG=sg-1\n"}


def test_outputs_names_a_linked_out_env_in_its_own_words(tmp_path):
    from generator.errors import TfgenError
    from generator.render.writer import atomic_write

    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "test").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(TfgenError) as caught:
        atomic_write(tmp_path / "out" / "test" / "security-groups.env", b"SG=sg-1\n")
    assert caught.value.message.startswith(f"{tmp_path / 'out' / 'test'} is a symbolic link: tfgen never follows")
    assert "render" not in caught.value.message and "then run this again" in caught.value.message
    assert tree(tmp_path / "elsewhere") == {}


def test_outputs_waits_for_no_render_it_takes_the_lock_too(tmp_path):
    """`tfgen outputs` writes into out/ENV: while a render holds the environment's lock (flock on
    the folder, docs/safety.md), it is refused and writes nothing."""
    from generator.errors import TfgenError
    from generator.render.writer import atomic_write

    env = tmp_path / "out" / "test"
    env.mkdir(parents=True)
    held = os.open(env, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(TfgenError, match=re.escape(f"{env} is in use; wait for it to finish, then run this again")):
            atomic_write(env / "security-groups.env", b"SG=sg-1\n")
        assert tree(env) == {}
    finally:
        os.close(held)
    atomic_write(env / "security-groups.env", b"SG=sg-1\n")
    assert tree(env) == {"security-groups.env": b"SG=sg-1\n"}


def test_outputs_removes_the_temporaries_a_killed_outputs_left(tmp_path):
    """A killed `tfgen outputs` left `.security-groups.env.<hex>.tfgen-tmp` (or, before the
    journal, `.security-groups.env.tfgen-tmp`) for good: the next one removes them, regular files of
    exactly that shape only."""
    from generator.render.writer import atomic_write

    env = tmp_path / "out" / "test"
    env.mkdir(parents=True)
    for name in (".security-groups.env.0123456789abcdef.tfgen-tmp", ".security-groups.env.tfgen-tmp"):
        (env / name).write_text("SG=sg-old\n")
    kept = {".security-groups.env.notes": b"mine\n", ".security-groups.env.0123.tfgen-tmp": b"mine\n"}
    for name, data in kept.items():
        (env / name).write_bytes(data)
    (tmp_path / "outside").write_text("not tfgen's\n")
    (env / ".security-groups.env.fedcba9876543210.tfgen-tmp").symlink_to(tmp_path / "outside")
    atomic_write(env / "security-groups.env", b"SG=sg-1\n")
    assert tree(env) == {"security-groups.env": b"SG=sg-1\n", **kept,
                         ".security-groups.env.fedcba9876543210.tfgen-tmp": f"link to {tmp_path / 'outside'}"}
    assert (tmp_path / "outside").read_text() == "not tfgen's\n"


def test_an_out_env_replaced_before_its_lock_is_taken_is_refused(tfgen, tmp_path, monkeypatch):
    """out/ENV opened, then moved away and another folder made in its place before the lock is
    taken: the lock would hold the old folder while another render locks the new one. Refused."""
    assert tfgen("render", "test").exit_code == 0
    real_flock, moved = fcntl.flock, tmp_path / "moved"

    def replaced_first(fd, operation):
        monkeypatch.setattr(fcntl, "flock", real_flock)
        tfgen.env.rename(moved)
        tfgen.env.mkdir()
        return real_flock(fd, operation)

    before = tree(tfgen.env)
    for args in (("render", "test"), ("render", "test", "--check")):
        monkeypatch.setattr(fcntl, "flock", replaced_first)
        (tfgen.config_dir / "test.yaml").write_text(MOVED)
        result = tfgen(*args)
        no_traceback(result)
        assert result.exit_code == 1
        assert result.output == (f"Error: {tfgen.env} was moved or replaced while tfgen opened it: "
                                 "nothing was read or written; run this again\n"), result.output
        assert tree(moved) == before and tree(tfgen.env) == {}
        tfgen.env.rmdir()
        moved.rename(tfgen.env)


# --- what a crashed render, or an older tfgen, leaves ----------------------------------------


def test_temporaries_an_older_tfgen_left_are_removed(tfgen, tmp_path):
    """tfgen before the journal wrote `.NAME.tfgen-tmp` beside each file and left it when killed;
    nothing removed them. A render removes them: regular files of exactly that shape, beside a
    file render writes, and nothing else."""
    assert tfgen("render", "test").exit_code == 0
    old = ["..tfgen-manifest.json.tfgen-tmp", "platform/.providers.tf.tfgen-tmp", "teams/rc/.iam.tf.tfgen-tmp"]
    for path in old:
        (tfgen.env / path).write_text("half a file\n")
    kept = {"platform/.Providers.tf.tfgen-tmp": b"x\n", "platform/.notes.tfgen-tmp": b"x\n",
            "platform/.terraform/.versions.tf.tfgen-tmp": b"x\n", "teams/.iam.tf.tfgen-tmp": b"x\n",
            ".providers.tf.tfgen-tmp": b"x\n"}
    for path, data in kept.items():
        (tfgen.env / path).parent.mkdir(parents=True, exist_ok=True)
        (tfgen.env / path).write_bytes(data)
    (tmp_path / "outside").write_text("not tfgen's\n")
    (tfgen.env / "platform/.versions.tf.tfgen-tmp").symlink_to(tmp_path / "outside")
    (tfgen.env / "platform/.backend.tf.tfgen-tmp").mkdir()
    before = tree(tfgen.env)
    result = tfgen("render", "test")
    assert result.exit_code == 0 and "0 written" in result.output, result.output
    assert tree(tfgen.env) == {path: what for path, what in before.items() if path not in old}
    assert (tmp_path / "outside").read_text() == "not tfgen's\n"
    assert tfgen("render", "test", "--check").exit_code == 0


def test_what_a_crashed_render_leaves_is_ignored_by_git(tmp_path):
    """`git add -A` after a crash must not commit the journal, its mark or a temporary: the
    repository's .gitignore holds them (and docs/safety.md tells a platform repository to)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(REPO / ".gitignore", repo / ".gitignore")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    left = ["out/prod/.tfgen-journal.json", "out/prod/.tfgen-journal.committed",
            "out/prod/platform/.providers.tf.0123456789abcdef.tfgen-tmp", "out/prod/teams/rc/.iam.tf.tfgen-tmp",
            "out/prod/.tfgen-manifest.json.0123456789abcdef.tfgen-tmp",
            "out/prod/.security-groups.env.0123456789abcdef.tfgen-tmp"]
    ignored = subprocess.run(["git", "check-ignore", "--no-index", *left], cwd=repo, capture_output=True, text=True)
    assert ignored.stdout.split() == left
    rendered = ["out/prod/.tfgen-manifest.json", "out/prod/platform/providers.tf", "out/prod/teams/rc/iam.tf"]
    assert subprocess.run(["git", "check-ignore", "--no-index", *rendered], cwd=repo).returncode == 1
