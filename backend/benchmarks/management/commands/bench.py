from pathlib import Path

from django.core.management.base import BaseCommand

from benchmarks.service import bench_run, burst_bench, pages_bench, report_cards_bench, table_markdown, table_text


class Command(BaseCommand):
    help = (
        "Benchmark the analytics: reads and pages over HTTP at S and 4S students, write cost, the morning burst of "
        "roll calls, jobs, report cards."
    )

    def add_arguments(self, parser):
        parser.add_argument("--students", type=int, default=1000, help="S, the smaller school (default 1000).")
        parser.add_argument("--weeks", type=int, default=12, help="Weeks simulated (default 12).")
        parser.add_argument("--quick", action="store_true", help="Smoke run: S=100, 2 weeks, short trials.")
        parser.add_argument("--trials", type=int, default=3, help="Trials per read (median; default 3).")
        parser.add_argument("--markdown", help="Also write the table as markdown to this path.")
        parser.add_argument("--report-cards", action="store_true", help="Only the report-card figures.")
        parser.add_argument("--pages", action="store_true", help="Only the pages beside their endpoints.")
        parser.add_argument("--burst", action="store_true", help="Only the morning burst of roll calls (4S).")

    def handle(self, *args, students, weeks, quick, trials, markdown, report_cards, pages, burst, **options):
        sizes = {"students": 100, "weeks": 2} if quick else {"students": students, "weeks": weeks}
        loads = {"requests": 40, "seconds": 10, "saves": 5} if quick else {"requests": 200, "seconds": 20, "saves": 20}
        if report_cards:
            result = report_cards_bench(**sizes, say=self.stdout.write)
        elif burst:
            result = burst_bench(**sizes, say=self.stdout.write)
        elif pages:
            result = pages_bench(
                **sizes, requests=loads["requests"], seconds=loads["seconds"], trials=trials, say=self.stdout.write
            )
        else:
            result = bench_run(**sizes, **loads, trials=trials, say=self.stdout.write)
        self.stdout.write(table_text(result))
        if markdown:
            Path(markdown).write_text(table_markdown(result))
            self.stdout.write(f"Markdown table written to {markdown}")
