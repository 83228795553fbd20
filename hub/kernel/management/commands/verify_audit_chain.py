"""Recompute every audit chain; exit 1 and name the broken entries if one was tampered with."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from hub.kernel.audit import audit_verify_chain


class Command(BaseCommand):
    help = "Verify the hash chains of the audit log."

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit_verify_chain()
        if report.intact:
            self.stdout.write(
                self.style.SUCCESS(
                    f"audit chain intact: {report.checked} entries in {report.chains} chain(s)"
                )
            )
            return
        for chain_break in report.breaks[:20]:
            self.stderr.write(
                f"chain {chain_break.chain} entry {chain_break.seq}: {chain_break.reason}"
            )
        raise CommandError(
            f"audit chain broken: {len(report.breaks)} problem(s) in {report.checked} entries"
        )
