"""What the tests share beside conftest.py's fixtures: the CLI run in-process (cli.py)."""
