/* The public header compiles as strict C11 (-std=c11 -pedantic -Werror) and its
 * basic contract holds from C: version, a misuse code, an error object. */
#include <envector.h>

#include <stdio.h>
#include <string.h>

int main(void) {
	if (strcmp(envector_version(), ENVECTOR_VERSION_STRING) != 0) {
		fprintf(stderr, "version %s, header %s\n", envector_version(), ENVECTOR_VERSION_STRING);
		return 1;
	}
	envector_keyset *ks = NULL;
	envector_error *err = NULL;
	int rc = envector_keygen("{\"nope\": 1}", &ks, &err);
	if (rc != ENVECTOR_ERR_INVALID_ARGUMENT || ks != NULL || err == NULL ||
	    envector_error_code(err) != rc || strstr(envector_error_message(err), "nope") == NULL) {
		fprintf(stderr, "rc %d: %s\n", rc, envector_error_message(err));
		return 1;
	}
	envector_error_free(err);
	const envector_keyset *cks = ks; /* const handles are accepted where documented */
	int roles[ENVECTOR_ROLE_COUNT];
	size_t n = 0;
	rc = envector_keyset_roles(cks, roles, &n, NULL);
	if (rc != ENVECTOR_ERR_INVALID_ARGUMENT) return 1;
	/* The lifecycle functions, and their status code, from C. */
	char *json = NULL;
	const envector_store *cst = NULL;
	rc = envector_store_list_sets(cst, &json, NULL);
	if (rc != ENVECTOR_ERR_INVALID_ARGUMENT || json != NULL) return 1;
	rc = envector_keyset_state_json(cks, &json, NULL);
	return rc == ENVECTOR_ERR_INVALID_ARGUMENT && ENVECTOR_ERR_KEY_INACTIVE == 9 ? 0 : 1;
}
