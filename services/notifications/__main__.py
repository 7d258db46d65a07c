from .entrypoints.worker import main

if __name__ == "__main__":
    main()
