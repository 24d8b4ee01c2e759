# Quickstart: make a sealed key set with init(), load it with KeyManager, verify it.
import os
import secrets
import shutil
import tempfile

from envector_keys import KeyManager, init


def main() -> None:
    workdir = tempfile.mkdtemp(prefix="envector-quickstart-")
    kek_path = os.path.join(workdir, "kek.hex")  # keep the KEK away from the keys
    with open(os.open(kek_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write(secrets.token_hex(32))
    key_path = os.path.join(workdir, "keys")
    try:
        # A small key set, so that the example runs in a moment: enVector's preset ip0 with
        # eval mode rmp. Without preset and eval_mode, init makes enVector's default, ip3
        # with mm32 (as enVector's SDK): a 1.2 GB EvalKey (about 15 s); setup.keys reads
        # the envelopes from the store when first asked for.
        setup = init(
            key_path=key_path, key_id="my-index", preset="ip0", eval_mode="rmp", dim_list=[128, 256],
            seal_mode="aes", seal_kek_path=kek_path,
            register=lambda key_id, eval_key, info: print(f"register {key_id}: EvalKey {len(eval_key)} bytes"),
        )
        print(f"created {setup.created}, sealed {setup.sealed}")

        with KeyManager(key_path=key_path, key_id="my-index") as km:
            keys = km.load()
            print("loaded", ", ".join(f"{k} {len(b)} B" for k, b in keys.items() if b is not None))
            km.verify(seal_kek_path=kek_path)
            print("verified; key sets:", km.list_keys())
    finally:
        shutil.rmtree(workdir)  # a real application keeps its keys


if __name__ == "__main__":
    main()
