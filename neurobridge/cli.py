"""The ``neurobridge`` command line.

    neurobridge data list                 the manifests' files and where each is found
    neurobridge data fetch NAME           resolve (and download if missing) a data set or one file: NAME or NAME/KEY
    neurobridge data verify [NAME ...]    checksum every file present locally
    neurobridge run EXPERIMENT [...]      run an experiment (digits, mnist, text-image, imagenet-features, majaj)
    neurobridge sweep CONFIG              run several experiments from a JSON config file
"""
from __future__ import annotations

import argparse
import sys

from neurobridge.datasets.manifests import DataError, find_local, get_manifest, list_manifests, resolve, verify_file

__all__ = ["main", "build_parser"]


def _data_list(args) -> int:
    for name, manifest in sorted(list_manifests().items()):
        print(f"{name}: {manifest.description}")
        for entry in manifest.files:
            local = find_local(entry)
            print(f"  {entry.key:<22} {entry.filename:<42} {'found: ' + str(local) if local else 'missing'}")
    return 0


def _entries(names):
    manifests = list_manifests()
    if not names:
        return [e for m in manifests.values() for e in m.files]
    out = []
    for name in names:
        dataset, _, key = name.partition("/")
        manifest = get_manifest(dataset)
        out.extend([manifest.file(key)] if key else manifest.files)
    return out


def _data_fetch(args) -> int:
    failed = 0
    for entry in _entries([args.name]):
        try:
            path = resolve(entry.dataset, entry.key, download=not args.offline, progress=not args.quiet)
            print(f"ok        {entry.name}: {path}")
        except DataError as err:
            failed += 1
            print(f"FAILED    {entry.name}: {err}", file=sys.stderr)
    return 1 if failed else 0


def _data_verify(args) -> int:
    counts = {"verified": 0, "missing": 0, "MISMATCH": 0}
    for entry in _entries(args.names):
        local = find_local(entry)
        if local is None:
            status, detail = "missing", ""
        else:
            try:
                verify_file(entry, local)
                status, detail = "verified", str(local)
            except DataError as err:
                status, detail = "MISMATCH", str(err)
        counts[status] += 1
        if status != "missing" or args.all:
            print(f"{status:<9} {entry.name:<48} {detail}")
    print(f"{counts['verified']} verified, {counts['missing']} missing, {counts['MISMATCH']} failed the checksum")
    if counts["MISMATCH"] or (args.strict and counts["missing"]):
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neurobridge", description="Align representation spaces of models and brains through a few labelled bridges.")
    sub = parser.add_subparsers(dest="command", required=True)
    data = sub.add_parser("data", help="list, fetch and verify data files").add_subparsers(dest="data_command", required=True)
    data.add_parser("list", help="every manifest file and where it is found").set_defaults(func=_data_list)
    fetch = data.add_parser("fetch", help="resolve or download a data set (NAME) or one file (NAME/KEY)")
    fetch.add_argument("name")
    fetch.add_argument("--offline", action="store_true", help="never download; only look in the search path and caches")
    fetch.add_argument("--quiet", action="store_true", help="no progress bar")
    fetch.set_defaults(func=_data_fetch)
    verify = data.add_parser("verify", help="checksum every file present locally")
    verify.add_argument("names", nargs="*", help="data sets (NAME) or files (NAME/KEY); default: all")
    verify.add_argument("--all", action="store_true", help="also list missing files")
    verify.add_argument("--strict", action="store_true", help="exit 1 when a file is missing")
    verify.set_defaults(func=_data_verify)
    from neurobridge.experiments.cli import add_experiment_commands

    add_experiment_commands(sub)
    _add_score_command(sub)
    return parser


def main(argv=None) -> int:
    """Run the command line; a user error prints one ``error:`` line and exits 2 (``NEUROBRIDGE_DEBUG=1`` re-raises)."""
    import os

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (DataError, ValueError, KeyError, FileNotFoundError) as err:
        if os.environ.get("NEUROBRIDGE_DEBUG"):
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
