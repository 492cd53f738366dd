"""Entry points: ``python server.py`` starts the guarded server (as ``sco-qa serve`` does:
header and body deadlines, the header cap, idle connections closed); ``uvicorn server:app``
serves the same app with the app-level guards only (README "Operating it")."""

import sys

from sco_qa.api import make_app
from sco_qa.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))

app = make_app()
