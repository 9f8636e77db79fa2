"""One module per ``rig`` subcommand: ``add_parser(subparsers)`` and the function it runs."""
