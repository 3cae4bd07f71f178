"""tfgen accept without an account: its refusal, its clean-up discipline, its table.
The steps themselves run against the emulator in tests/test_sandbox.py."""

from __future__ import annotations

import pytest

from generator import accept
from generator.config.loader import load_environment
from generator.design import design
from generator.errors import TfgenError
from tests.conftest import ENVIRONMENTS, OUT


def test_a_protected_environment_is_refused_before_any_call():
    class NoAccount:
        def client(self, service):
            raise AssertionError(f"{service} was called")

    with pytest.raises(TfgenError, match="prod is protected: .* pass --allow-protected"):
        accept.accept(design(load_environment(ENVIRONMENTS, "prod")), OUT / "prod", session=NoAccount())


def test_cleanup_undoes_everything_in_reverse_and_reports_what_failed():
    done = []
    cleanup = accept.Cleanup()
    cleanup.add("image a", lambda: done.append("a"))
    cleanup.add("version b", lambda: (_ for _ in ()).throw(RuntimeError("throttled")))
    cleanup.add("alarm c", lambda: done.append("c"))
    cleanup.run()
    assert done == ["c", "a"]  # the failure in between stopped nothing
    assert cleanup.failures == ["version b: throttled"]
    cleanup.run()
    assert done == ["c", "a"]  # each undo runs once


def test_the_table_has_a_row_per_check_and_a_count():
    results = [accept.Result("ecr", "a test image pushes to r", accept.PASS, "r:tfgen-accept-1 sha256:ab"),
               accept.Result("registry", "a test model version registers in g", accept.FAIL, "AccessDenied: no")]
    lines = accept.table(results).splitlines()
    assert lines[0].split() == ["STATUS", "MODULE", "CHECK", "DETAIL"]
    assert lines[2].split()[:2] == ["FAIL", "registry"] and lines[2].endswith("AccessDenied: no")
    assert lines[-1] == "2 acceptance checks, 1 passed, 1 failed"


def test_with_ecr_off_the_registry_step_is_skipped_not_failed(config_dir):
    """Nothing to register a model on is not a broken account: SKIP, and no call is made."""
    from tests.conftest import MINIMAL

    (config_dir / "test.yaml").write_text(MINIMAL + "ecr:\n  enabled: false\n")
    the_design = design(load_environment(config_dir, "test"))
    results = accept._registry(the_design, sagemaker=None, run="tfgen-accept-x", images={},
                               cleanup=accept.Cleanup())
    assert [(r.status, r.detail) for r in results] == [
        ("SKIP", "ECR is off: no project image to register a model on")]
    assert accept.table(results).splitlines()[-1] == "1 acceptance checks, 0 passed, 0 failed, 1 skipped"
