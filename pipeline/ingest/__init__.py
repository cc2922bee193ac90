"""Inputs → pages: a PDF or image file → page images or text-layer tables, a text extraction → rows.

`imaging` opens a file by its content (embedded page images at their native resolution, rendering
otherwise), `textlayer` reads a trustworthy PDF text layer as tables (camelot), `textinput` reads
tab-separated text extractions.
"""
