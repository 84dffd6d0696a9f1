"""Reading label sheets back: which cells of which page hold a label, found by its code text."""

import pypdfium2

from inventory.labels import pdf


def cells_holding(document: bytes, code: str, layout_name: str = "a4") -> list[list[int]]:
    """For each page of ``document``, the cells (1 = top left, row by row) whose label says
    ``code``, in the order they were found."""
    layout = pdf.LAYOUTS[layout_name]
    pages = []
    document = pypdfium2.PdfDocument(document)
    try:
        for page in document:
            text = page.get_textpage()
            searcher = text.search(code, match_case=True)
            cells = []
            while (found := searcher.get_next()) is not None:
                left, bottom, right, top = text.get_charbox(found[0])
                x, y = (left + right) / 2, (bottom + top) / 2
                column = int((x - layout.margin_left) // layout.label_width)
                row = int((layout.page_height - layout.margin_top - y) // layout.label_height)
                cells.append(row * layout.columns + column + 1)
            searcher.close()
            pages.append(sorted(cells))
    finally:
        document.close()
    return pages
