"""`python -m tools.demo`: see tools/demo/cli.py."""
import sys

from tools.demo.cli import main

sys.exit(main())
