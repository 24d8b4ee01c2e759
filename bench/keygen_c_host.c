/* The C side of the C-host benchmark (make bench): makes the default key set (ip0, rmp,
 * dims 32..4096, with MetadataKey) through include/envector.h from a plain C program,
 * reads every role's envelope and frees everything, -n times after -warmup untimed
 * runs, and prints {"ns": [time of each iteration in nanoseconds]} as
 * internal/benchbase does for the Go API, so scripts/bench_interleave.py can run the
 * two in alternating blocks and compare them.
 *
 *   keygen_c_host [-n 10] [-warmup 1] */
#include <envector.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int once(void) {
	envector_keyset *ks = NULL;
	envector_error *err = NULL;
	if (envector_keygen("{\"key_id\": \"bench\", \"preset\": \"ip0\", \"eval_mode\": \"rmp\"}", &ks, &err) != ENVECTOR_OK) {
		fprintf(stderr, "keygen_c_host: %s\n", envector_error_message(err));
		envector_error_free(err);
		return 1;
	}
	uint8_t *data[ENVECTOR_ROLE_COUNT] = {0};
	size_t lens[ENVECTOR_ROLE_COUNT] = {0};
	int rc = envector_keyset_blobs(ks, data, lens, &err);
	if (rc != ENVECTOR_OK) {
		fprintf(stderr, "keygen_c_host: %s\n", envector_error_message(err));
		envector_error_free(err);
	}
	for (int r = 0; r < ENVECTOR_ROLE_COUNT; r++) envector_bytes_free(data[r]);
	envector_keyset_free(ks);
	return rc != ENVECTOR_OK;
}

static long long now_ns(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
	long n = 10, warmup = 1;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "-n") == 0) n = strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "-warmup") == 0) warmup = strtol(argv[i + 1], NULL, 10);
		else {
			fprintf(stderr, "usage: keygen_c_host [-n N] [-warmup N]\n");
			return 2;
		}
	}
	if (n < 1 || warmup < 0) {
		fprintf(stderr, "keygen_c_host: -n must be at least 1 and -warmup at least 0\n");
		return 2;
	}
	for (long i = 0; i < warmup; i++)
		if (once()) return 1;
	long long *ns = malloc(sizeof *ns * (size_t)n);
	if (ns == NULL) return 1;
	for (long i = 0; i < n; i++) {
		long long t0 = now_ns();
		if (once()) return 1;
		ns[i] = now_ns() - t0;
	}
	printf("{\"ns\": [");
	for (long i = 0; i < n; i++) printf("%s%lld", i ? ", " : "", ns[i]);
	printf("]}\n");
	free(ns);
	return 0;
}
