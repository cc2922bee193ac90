"""The scan route: a page image → its ruled tables with the text of every cell.

`orientation` turns the page upright, `grid` finds the ruled tables and their merged cells, `read`
cuts each cell into text lines and has the OCR engine read them, `page` chains the three for one
page; `spool` keeps a long document's grids on disk instead of in memory.
"""
