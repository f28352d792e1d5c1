"""`python -m eval {posts,retrieval,baselines,external,xsid}`; see eval/cli.py."""

from eval.cli import main

raise SystemExit(main())
