"""The command line on top of the stages (Vietnamese help and errors) and the demo."""
