"""Entry point of the frozen app: the same ``rigfit`` main, so flags and subcommands work in the bundle too."""

import sys

from advisor.cli import main

if __name__ == "__main__":
    sys.exit(main())
