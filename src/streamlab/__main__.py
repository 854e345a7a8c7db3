"""``python -m streamlab`` is the ``streamlab`` command."""

from streamlab.cli import main

raise SystemExit(main())
