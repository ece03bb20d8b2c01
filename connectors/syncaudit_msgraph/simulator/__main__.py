"""`python -m syncaudit_msgraph.simulator`: serve demo data until interrupted."""

from syncaudit_msgraph.simulator import main

main()
