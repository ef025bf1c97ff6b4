"""`python -m agentconsole`: the same as the `agentconsole` command."""

import sys

from agentconsole.cli import main

sys.exit(main())
