"""The blank reporting templates: the workbook layout (the contract with intake) and the writer."""
