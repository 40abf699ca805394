"""Spreadsheet asset import: CSV/XLSX with $CF custom-field columns, a preview, then apply."""
