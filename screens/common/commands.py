"""The command palette provider: every action that applies now, with its key shown beside it."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from screens.common.keys import catalogue

Command = tuple[str, str, Callable[[], object]]  # (title, help, callback)


class ActionsProvider(Provider):
    """Lists the bindings of the screen the palette was opened over, plus that screen's extra commands."""

    def _commands(self) -> list[Command]:
        screen = self.screen
        app = self.app
        commands: list[Command] = []
        for entry in catalogue(screen):
            binding = entry.binding
            if entry.state is not True or binding.action == "command_palette":
                continue
            title = binding.description or binding.action
            run = partial(app.call_later, app.run_action, binding.action, entry.node)
            commands.append((title, f"{entry.keys} · {binding.tooltip}" if binding.tooltip else entry.keys,
                             run))
        extras = getattr(screen, "palette_commands", None)
        if callable(extras):
            commands.extend(extras())
        return commands

    async def discover(self) -> Hits:
        for title, help_text, run in self._commands():
            yield DiscoveryHit(title, run, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, run in self._commands():
            score = max(matcher.match(title), matcher.match(help_text) * 0.8)
            if score > 0:
                yield Hit(score, matcher.highlight(title), run, text=title, help=help_text)
