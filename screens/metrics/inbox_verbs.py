"""The inbox's way to the metrics screen, installed once and kept so a second visit shows at once."""

from __future__ import annotations

from textual.binding import Binding

from screens.inbox.verbs import InboxVerbs


class MetricsVerbs(InboxVerbs):
    BINDINGS = [
        Binding("m", "metrics", "Metrics", id="inbox.metrics", show=False,
                tooltip="Response times and volumes, per channel and agent"),
    ]

    def action_metrics(self) -> None:
        app = self.app
        # Installed once and kept: a second visit shows the screen at once and only refreshes figures.
        if not app.is_screen_installed("metrics"):
            from screens.metrics.screen import MetricsScreen

            app.install_screen(MetricsScreen(app.session.metrics_report, app.clock, app.config.timezone,
                                             app.config.hours, satisfaction=app.session.satisfaction), "metrics")
        app.push_screen("metrics")
