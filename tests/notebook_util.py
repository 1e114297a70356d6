"""A tiny course-shaped notebook for the runner's tests: a parameters cell, then the given code cells."""
import nbformat


def write_notebook(path, *sources):
    """Write a notebook with the parameters cell (QUICK, SEED, DEVICE) and one code cell per source; return path."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cells = [nbformat.v4.new_code_cell("QUICK = False\nSEED = 0\nDEVICE = 'auto'")]
    cells[0].metadata["tags"] = ["parameters"]
    nb.cells = cells + [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)
    return path
