"""Shared kernel: money, ids, errors, after-commit effects, audit chain, idempotency, outbox.

The kernel sits below the domain apps and never imports them.
"""
