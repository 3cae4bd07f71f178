"""generator/support/child.py: a function served by a plain child interpreter, as `tfgen check` uses
it for AWS's IAM catalogue and for reading a large tree (that use: tests/test_hcl_reader.py)."""

from __future__ import annotations

import os
import textwrap

import pytest

from generator.support.child import Child


@pytest.fixture
def served(tmp_path, monkeypatch):
    """A module of functions for a child to serve, importable from this process's sys.path
    (which the child takes as its own)."""
    (tmp_path / "served_here.py").write_text(textwrap.dedent("""\
        import os
        import threading

        def pid_and_sum(*numbers):
            return os.getpid(), sum(numbers)

        class Unpicklable(Exception):
            def __init__(self, message):
                super().__init__(message)
                self.lock = threading.Lock()  # pickle cannot carry a lock

        def fail(kind):
            if kind == "value":
                raise ValueError("no such value")
            raise Unpicklable("it holds a lock")
        """))
    monkeypatch.syspath_prepend(str(tmp_path))
    return "served_here"


def test_requests_are_answered_in_another_process_with_their_numbers(served):
    child = Child(f"{served}:pid_and_sum")
    try:
        numbers = [child.send(1, 2), child.send(10, 20, 30), child.send()]
        answers = dict(child.receive() for _ in numbers)
    finally:
        child.close()
    assert {number: total for number, (_, total) in answers.items()} == dict(zip(numbers, [3, 60, 0]))
    assert {pid for pid, _ in answers.values()} == {child.process.pid} != {os.getpid()}


def test_receive_without_waiting_is_none_until_an_answer_arrives(served):
    child = Child(f"{served}:pid_and_sum")
    try:
        assert child.receive(block=False) is None  # nothing asked yet
        number = child.send(4, 5)
        assert child.receive()[0] == number
    finally:
        child.close()


def test_the_functions_exception_is_raised_in_the_caller(served):
    child = Child(f"{served}:fail")
    try:
        child.send("value")
        with pytest.raises(ValueError, match="no such value"):
            child.receive()
        child.send("lock")  # the child goes on serving, and an exception pickle cannot carry still arrives
        with pytest.raises(RuntimeError, match="Unpicklable: it holds a lock"):
            child.receive()
    finally:
        child.close()


def test_a_child_that_died_is_reported_every_time_it_is_asked(served):
    child = Child(f"{served}:pid_and_sum")
    try:
        child.process.kill()
        child.send(1)
        for _ in range(2):
            with pytest.raises(RuntimeError, match=f"{served}:pid_and_sum ended without an answer"):
                child.receive()
    finally:
        child.close()


def test_close_kills_the_child(served):
    child = Child(f"{served}:pid_and_sum")
    child.close()
    assert child.process.returncode is not None

