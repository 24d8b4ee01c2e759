"""python -m envector_keys: the same as pyenvector-keygen."""

from ._cli import run

if __name__ == "__main__":
    run()
