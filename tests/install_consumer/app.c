/* A program using an installed libenvector (README, "C and C++": app.c): generates a small
 * key set, seals it, verifies it. tests/install_test.sh builds it with the README's
 * pkg-config and CMake lines; tests/dist builds it against the C library archive. */
#include <envector.h>

#include <stdio.h>
#include <string.h>

int main(void) {
	envector_keyset *ks = NULL, *sealed = NULL;
	envector_error *err = NULL;
	const char kek[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
	int rc = envector_keygen(
	    "{\"key_id\": \"app\", \"preset\": \"ip0\", \"eval_mode\": \"single\", \"dim_list\": [32]}",
	    &ks, &err);
	if (rc == ENVECTOR_OK) rc = envector_seal(ks, (const uint8_t *)kek, strlen(kek), &sealed, &err);
	if (rc == ENVECTOR_OK) rc = envector_keyset_verify(sealed, (const uint8_t *)kek, strlen(kek), &err);
	if (rc != ENVECTOR_OK) {
		fprintf(stderr, "app: %s\n", envector_error_message(err));
		envector_error_free(err);
		return 1;
	}
	envector_keyset_free(sealed);
	envector_keyset_free(ks);
	if (strcmp(envector_version(), ENVECTOR_VERSION_STRING) != 0) {
		fprintf(stderr, "app: the library is %s but the header %s\n", envector_version(), ENVECTOR_VERSION_STRING);
		return 1;
	}
	printf("app: libenvector %s works\n", envector_version());
	return 0;
}
