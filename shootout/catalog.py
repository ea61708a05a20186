"""The ``list`` and ``describe`` commands: what is registered, and the contract to follow."""

from __future__ import annotations

import argparse

from shootout.output import json_document
from shootout.usage import EXIT_OK, load_registry


def cmd_list(args: argparse.Namespace) -> int:
    from shootout.present import list_records, list_table

    registry = load_registry(args)
    impls = registry.select(args.algorithm, args.backend, args.variant)
    if not (args.algorithm or args.backend or args.variant):
        impls += registry.unloadable  # entry points that failed to load, with the reason
    records = list_records(registry, impls)
    print(json_document("list", implementations=records) if args.json else list_table(records))
    return EXIT_OK


def cmd_describe(args: argparse.Namespace) -> int:
    from shootout.present import describe, describe_record

    registry = load_registry(args)
    suite = registry.suite(args.algorithm)
    if args.json:
        print(json_document("describe", **describe_record(suite, registry)))
    else:
        print(describe(suite, registry))
    return EXIT_OK
