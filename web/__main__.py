"""``python -m web`` is the ``recall`` command."""

from web.cli import main

main()
