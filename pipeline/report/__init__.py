"""The summary reports: consolidation against the matrix, the narrative model, the charts, the
Word, Excel and HTML renderers, and the national roll-up."""
