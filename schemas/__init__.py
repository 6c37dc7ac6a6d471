"""pandera schemas for the data baocao reads and the indicator catalogue."""
