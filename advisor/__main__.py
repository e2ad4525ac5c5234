"""``python -m advisor`` runs the same CLI as the ``rigfit`` command."""

from advisor.cli import main

raise SystemExit(main())
