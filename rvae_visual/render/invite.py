"""The invitation line an installation shows while the attract wander plays ("touch the
controller ..."): white text with a shadow at the bottom of the map square, rendered once per
square size."""

from __future__ import annotations

from typing import Any

SIZE = 0.045  # text height as a fraction of the square's side
MARGIN = 0.04  # from the square's bottom, fraction of its side


class Invitation:
    """One line of text, drawn by `draw` while the wander runs."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._cache: tuple[int, Any] | None = None  # (square side, rendered surface)

    def _surface(self, side: int) -> Any:
        import pygame

        if self._cache is None or self._cache[0] != side:
            if not pygame.font.get_init():
                pygame.font.init()
            font = pygame.font.Font(None, max(12, round(side * SIZE)))
            fg = font.render(self.text, True, (255, 255, 255))
            shadow = font.render(self.text, True, (0, 0, 0))
            out = pygame.Surface((fg.get_width() + 2, fg.get_height() + 2), pygame.SRCALPHA)
            out.blit(shadow, (2, 2))
            out.blit(fg, (0, 0))
            self._cache = (side, out)
        return self._cache[1]

    def draw(self, surface: Any, square: Any) -> None:
        """Blit the line centred at the bottom of `square` (a Rect)."""
        s = self._surface(square.height)
        x = square.centerx - s.get_width() // 2
        y = square.bottom - round(square.height * MARGIN) - s.get_height()
        surface.blit(s, (max(square.left, x), y))
