"""Engraving sheet music as SVG with verovio (offline, no MuseScore needed).

Pages are made as tall as the music needs (up to verovio's largest page), so a tune is
one SVG; a long score gives several, which the caller writes as name-1.svg, name-2.svg...
"""

from __future__ import annotations

from musegen_cli.errors import UserError

_OPTIONS = {
    "adjustPageHeight": True,
    "pageHeight": 60000,
    "pageWidth": 2100,
    "scale": 40,
    "footer": "none",
    "header": "auto",
    "breaks": "auto",
}


def musicxml_to_svg(musicxml: bytes) -> list[bytes]:
    """One SVG document per page of the engraved score."""
    import verovio

    toolkit = verovio.toolkit()
    toolkit.setOptions(_OPTIONS)
    toolkit.setInputFrom("musicxml")
    if not toolkit.loadData(musicxml.decode("utf-8")):
        raise UserError("verovio could not engrave this score")
    pages = toolkit.getPageCount()
    if pages < 1:
        raise UserError("verovio produced no pages for this score")
    return [toolkit.renderToSVG(page).encode("utf-8") for page in range(1, pages + 1)]
