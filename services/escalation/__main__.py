from .entrypoints.worker import main

main()
