"""python -m envector_keys: the same as the envector-keygen console script."""

from ._cli import run

if __name__ == "__main__":
    run()
