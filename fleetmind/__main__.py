"""``python -m fleetmind``: the ``fleetmind`` command."""

from fleetmind.cli import main

raise SystemExit(main())
