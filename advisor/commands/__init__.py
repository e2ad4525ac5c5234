"""CLI subcommands, one module each; ``advisor.cli`` discovers every module that has ``register()``."""
