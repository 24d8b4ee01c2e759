/* keygen_sealed: generate a key set, seal its secret keys under a KEK, and save it in
 * the local store.  Usage: keygen_sealed KEY_PATH KEY_ID KEK_FILE
 * KEK_FILE is read if it exists (32 raw bytes, 64 hex or 44 base64 characters);
 * otherwise a new random KEK is written to it (64 hex characters, mode 0600). */
#include <envector.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* check takes the address of the error, not its value: C does not order the evaluation
 * of arguments, so check(f(&err), err, ...) may read err before f sets it. */
static void check(int rc, envector_error **err, const char *what) {
	if (rc == ENVECTOR_OK) return;
	fprintf(stderr, "%s failed (code %d): %s\n", what, rc, envector_error_message(*err));
	envector_error_free(*err);
	exit(1);
}

/* Reads KEK_FILE, or creates it with a new KEK; returns the KEK's length. */
static size_t load_or_make_kek(const char *path, uint8_t kek[65]) {
	int fd = open(path, O_RDONLY);
	if (fd >= 0) {
		ssize_t n = read(fd, kek, 65);
		close(fd);
		return n > 0 ? (size_t)n : 0;
	}
	uint8_t raw[32];
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) return 0;
	for (size_t i = 0; i < sizeof raw; i++) sprintf((char *)kek + 2 * i, "%02x", raw[i]);
	kek[64] = '\n';
	int ok = write(fd, kek, 65) == 65 && close(fd) == 0;
	explicit_bzero(raw, sizeof raw);
	return ok ? 65 : 0;
}

int main(int argc, char **argv) {
	if (argc != 4 || strpbrk(argv[1], "\"\\") || strpbrk(argv[2], "\"\\")) {
		fprintf(stderr, "usage: %s KEY_PATH KEY_ID KEK_FILE\n", argv[0]);
		return 2;
	}
	uint8_t kek[65];
	size_t kek_len = load_or_make_kek(argv[3], kek);
	if (kek_len == 0) {
		perror(argv[3]);
		return 1;
	}
	/* A small key set, so that the example runs in a moment: enVector's preset ip0 with
	 * eval mode rmp and dim 32. Without preset, eval_mode and dim_list the library makes
	 * enVector's default, ip3 with mm32 and dims 32..4096 (as enVector's SDK): a 1.2 GB
	 * EvalKey; this program (keygen, seal, verify, save) then takes about 20 s and
	 * 2.7 GB of memory. */
	char options[4096];
	snprintf(options, sizeof options,
	         "{\"key_id\": \"%s\", \"key_path\": \"%s\", \"preset\": \"ip0\", \"eval_mode\": \"rmp\", "
	         "\"dim_list\": [32]}",
	         argv[2], argv[1]);

	envector_error *err = NULL;
	envector_keyset *plain = NULL, *sealed = NULL;
	envector_store *store = NULL;
	check(envector_keygen(options, &plain, &err), &err, "envector_keygen");
	check(envector_seal(plain, kek, kek_len, &sealed, &err), &err, "envector_seal");
	envector_keyset_free(plain); /* wipes the unsealed secret keys */
	check(envector_keyset_verify(sealed, kek, kek_len, &err), &err, "envector_keyset_verify");
	explicit_bzero(kek, sizeof kek);
	check(envector_store_open(options, &store, &err), &err, "envector_store_open");
	check(envector_store_save(store, sealed, &err), &err, "envector_store_save");
	printf("sealed key set \"%s\" saved in %s/%s (libenvector %s)\n", argv[2], argv[1], argv[2],
	       envector_version());
	envector_keyset_free(sealed);
	envector_store_free(store);
	return 0;
}
