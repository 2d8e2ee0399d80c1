"""`python -m rvae_visual` = the `rvae-visual` command."""

import sys

from .cli import main

sys.exit(main())
