"""Production: every unsafe setting refused at start-up (see base.py)."""

import os

os.environ.setdefault("DIKOM_ENVIRONMENT", "production")

from dikom.conf.base import *  # noqa: F403
