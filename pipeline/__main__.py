"""`python -m pipeline`: the command line, or one Vietnamese line when run outside the project's
environment (the system Python, without click, pandas, ...)."""

import sys

try:
    from pipeline.cli.main import main
except ModuleNotFoundError as exc:
    if (exc.name or "").split(".")[0] in ("pipeline", "schemas"):
        raise
    from pipeline.common.errors import missing_library_message

    print(f"Lỗi: {missing_library_message(exc.name)}", file=sys.stderr)
    sys.exit(2)

main()
