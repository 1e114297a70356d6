"""What every checker test needs: run a checker and capture what it prints; a learner's unfilled stub."""


def run(checker, fn, capsys):
    """(passed, printed text) of checker(fn)."""
    ok = checker(fn)
    return ok, capsys.readouterr().out


def _stub(*args):
    """A learner's function not written yet."""
    raise NotImplementedError
