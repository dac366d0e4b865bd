"""A pylint reporter that writes messages and the score as one JSON document.

ferry loads it with --output-format=ferry_pylint_reporter.FerryReporter:PATH so
that pylint 2.x, whose json reporter has no score, and pylint 3.x report the
same shape (the shape of pylint 3's json2 format). The score is computed with
the linter's own configured evaluation expression, exactly as pylint does.
"""

import json

from pylint.reporters.base_reporter import BaseReporter

_TYPES = ("fatal", "error", "warning", "refactor", "convention", "info")


class FerryReporter(BaseReporter):
    """Collect messages; write them with the statistics when pylint closes."""

    name = "ferry"
    extension = "json"

    def __init__(self, output=None):
        super().__init__(output)
        self.collected = []

    def handle_message(self, msg):
        self.collected.append(
            {
                "type": msg.category,
                "symbol": msg.symbol,
                "message": msg.msg or "",
                "messageId": msg.msg_id,
                "confidence": getattr(getattr(msg, "confidence", None), "name", None),
                "module": msg.module,
                "obj": msg.obj,
                "line": msg.line,
                "column": msg.column,
                "endLine": msg.end_line,
                "endColumn": msg.end_column,
                "path": msg.path,
                "absolutePath": msg.abspath,
            }
        )

    def display_messages(self, layout):
        """Messages are written in on_close, together with the score."""

    def display_reports(self, layout):
        """Reports are human text; ferry does not read them."""

    def _display(self, layout):
        """Nothing to display."""

    def on_close(self, stats, previous_stats):
        counts = {t: int(getattr(stats, t, 0) or 0) for t in _TYPES}
        statements = int(getattr(stats, "statement", 0) or 0)
        score = None
        if statements:
            names = dict(counts)
            names["statement"] = statements
            try:
                score = float(eval(self.linter.config.evaluation, {}, names))  # pylint: disable=eval-used
            except Exception:  # pylint: disable=broad-except
                score = None
        doc = {
            "messages": self.collected,
            "statistics": {
                "messageTypeCount": counts,
                "modulesLinted": len(getattr(stats, "by_module", None) or {}),
                "statements": statements,
                "score": score,
            },
        }
        self.out.write(json.dumps(doc))
        self.out.flush()
