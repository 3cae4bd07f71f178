"""One function served by a plain child interpreter, over two pipes.

`tfgen check` works in more than one process: the IAM catalogue loads and analyses in one
(policies/iam_catalogue.py) and, on a large tree, HCL is read in others
(generator/read/inventory.py). Not through multiprocessing: its spawned workers re-run the
caller's `__main__` (a script read from stdin, or one without the `if __name__ ==
"__main__"` guard, breaks them: BrokenProcessPool), start a resource tracker, a third
interpreter, and import the command line again; on a 2-core machine that start-up sits on
the critical path of a check. A Child is `python -P -c BOOT`, with this process's sys.path
pinned (a `policies/` folder in the user's working directory cannot shadow tfgen's), and two
pipes of pickled (number, arguments) requests and (number, result) answers.

Neither end ever blocks the other: requests go out from a thread of their own and answers
are read by another, so a caller hands work over and collects it when it suits it. A child
that dies closes its end of the pipe: the caller is told (RuntimeError), never left waiting.
"""

from __future__ import annotations

import gc
import importlib
import itertools
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Callable

_GONE = object()  # what the reading thread queues when the child's end closes


class Child:
    """`function` ("module:name") called in the child for every request, in order;
    `warm_up` ("module:name", no arguments) called there once, before the first request."""

    def __init__(self, function: str, warm_up: str | None = None) -> None:
        from_parent, to_child = os.pipe()  # (read end, write end)
        from_child, to_parent = os.pipe()
        # -P and the parent's sys.path: the child imports tfgen's own modules, whatever the
        # working directory holds.
        boot = (f"import sys; sys.path[:] = {sys.path!r}; from generator.support.child import serve; "
                f"serve({function!r}, {warm_up!r}, {from_parent}, {to_parent})")
        try:
            self.process = subprocess.Popen([sys.executable, "-P", "-c", boot], pass_fds=(from_parent, to_parent),
                                            stdin=subprocess.DEVNULL)
        finally:
            os.close(from_parent)
            os.close(to_parent)
        self._requests = os.fdopen(to_child, "wb")
        self._answers = os.fdopen(from_child, "rb")
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._numbers = itertools.count()
        self._function = function
        name = function.rpartition(":")[2]
        threading.Thread(target=self._send, daemon=True, name=f"tfgen-child-{name}-sender").start()
        threading.Thread(target=self._read, daemon=True, name=f"tfgen-child-{name}-reader").start()

    def send(self, *args: object) -> int:
        """Hand a request over without waiting; its number comes back with its answer."""
        number = next(self._numbers)
        self._outbox.put((number, args))
        return number

    def receive(self, block: bool = True) -> tuple[int, object] | None:
        """The next (number, result), waiting for it if block (else None when there is none
        yet). The function's exception is raised here; so is RuntimeError if the child ended."""
        try:
            answer = self._inbox.get(block)
        except queue.Empty:
            return None
        if answer is _GONE:
            self._inbox.put(_GONE)  # and every later call is told too
            raise RuntimeError(f"tfgen's child process for {self._function} ended without an answer")
        number, result = answer
        if isinstance(result, BaseException):
            raise result
        return number, result

    def close(self) -> None:
        """Kill the child: it holds nothing worth keeping, and freeing what it loaded would
        only be waited for."""
        self._outbox.put(None)
        self.process.kill()
        self.process.wait()
        self._answers.close()
        try:
            self._requests.close()
        except OSError:  # unsent bytes to a killed process
            pass

    def _send(self) -> None:
        try:
            while (request := self._outbox.get()) is not None:
                pickle.dump(request, self._requests)
                self._requests.flush()
        except (OSError, ValueError):  # the child is gone (or closed): the caller finds out when it receives
            pass

    def _read(self) -> None:
        try:
            while True:
                self._inbox.put(pickle.load(self._answers))
        except (EOFError, OSError, ValueError, pickle.UnpicklingError):  # the child's end closed
            self._inbox.put(_GONE)


def serve(function: str, warm_up: str | None, requests_fd: int, answers_fd: int) -> None:
    """The child's loop: answer requests until the parent closes its end (or kills it)."""
    # No cyclic collection: it would walk what the child loads (the IAM catalogue's million
    # objects) again and again while it loads, and the child is killed when done. With the
    # stand-in for pydantic's plugin loader (generator/cli/group.py) it is what lets both processes
    # of a small check end together (docs/benchmarks.md, "Start-up tricks, measured").
    gc.disable()
    with os.fdopen(requests_fd, "rb") as requests, os.fdopen(answers_fd, "wb") as answers:
        try:
            if warm_up:
                _named(warm_up)()
            call = _named(function)
            while True:
                number, args = pickle.load(requests)
                try:
                    answer = pickle.dumps((number, call(*args)))
                except Exception as exc:  # the caller raises it
                    answer = _pickled_error(number, exc)
                answers.write(answer)
                answers.flush()
        except (EOFError, BrokenPipeError, KeyboardInterrupt):  # the parent is done, or the user pressed ^C
            pass


def _named(name: str) -> Callable:
    module, _, attribute = name.partition(":")
    return getattr(importlib.import_module(module), attribute)


def _pickled_error(number: int, exc: Exception) -> bytes:
    try:
        return pickle.dumps((number, exc))
    except Exception:  # an exception pickle cannot carry: its type and message still reach the caller
        return pickle.dumps((number, RuntimeError(f"{type(exc).__name__}: {exc}")))
