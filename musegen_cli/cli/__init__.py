"""The command line: one module per subcommand, each thin (parse, call the core, render)."""
