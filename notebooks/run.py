"""Execute the notebooks: ``python notebooks/run.py [--output-dir DIR] [NAME.ipynb ...]``.

Exits 1 if any cell fails. The outputs are not written back: the notebooks stay committed without
outputs (the docs build executes them again); ``--output-dir`` saves executed copies elsewhere.
Set ``DOWHY_E2B_FAST=1`` for the small, quick configuration CI uses.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebooks in notebooks/ (default: all)")
    parser.add_argument("--output-dir", type=Path, help="write the executed notebooks here")
    args = parser.parse_args(argv)
    paths = [HERE / n for n in args.names] if args.names else sorted(HERE.glob("*.ipynb"))
    failed = []
    for path in paths:
        book = nbformat.read(path, as_version=4)
        start = time.perf_counter()
        try:
            client = NotebookClient(
                book, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}
            )
            client.execute()
        except CellExecutionError as err:
            failed.append(path.name)
            print(f"FAILED {path.name}:\n{err}", file=sys.stderr)
            continue
        print(f"ok     {path.name}  {time.perf_counter() - start:6.1f} s")
        if args.output_dir is not None:
            args.output_dir.mkdir(parents=True, exist_ok=True)
            nbformat.write(book, args.output_dir / path.name)
    if failed:
        print(f"{len(failed)} notebook(s) failed: {failed}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
