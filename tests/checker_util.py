"""What every checker test needs: run a checker and capture what it prints; a learner's unfilled stub."""


def run(checker, fn, capsys):
    """(passed, printed text) of checker(fn)."""
    ok = checker(fn)
    return ok, capsys.readouterr().out


def passes(checker, fn, capsys):
    """Assert that checker(fn) passes with a line starting 'PASS'; return the printed text."""
    ok, out = run(checker, fn, capsys)
    assert ok and out.startswith("PASS"), out
    return out


def fails(checker, fn, hint, capsys, start=""):
    """Assert that checker(fn) fails and prints hint (after `start`, when given); return the printed text."""
    ok, out = run(checker, fn, capsys)
    assert not ok and out.startswith(start) and hint in out, out
    return out


def in_place(fn, change):
    """A learner's fn that, after computing its answer, also changes its arguments in place by change(*args)."""
    def mutating(*args):
        """fn(*args), then change(*args)."""
        out = fn(*args)
        change(*args)
        return out
    return mutating


def _stub(*args):
    """A learner's function not written yet."""
    raise NotImplementedError
