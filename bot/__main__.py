"""`python -m bot` is `craftbot`."""

import sys

from bot.cli.main import main

sys.exit(main())
