"""``python -m dowhy_e2b``: the command line (implemented in :mod:`dowhy_e2b.adapters.cli`)."""

import sys

from dowhy_e2b.adapters.cli import main

if __name__ == "__main__":
    sys.exit(main())
