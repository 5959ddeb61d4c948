"""``landrec bench dossier`` (issue 6): filled in below."""

from __future__ import annotations

import argparse


def main(args: argparse.Namespace) -> int:
    raise SystemExit("landrec bench dossier: not ready yet")
