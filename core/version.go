package core

// Version is the version of envector-keys: of the library (libenvector, whose header
// says the same in ENVECTOR_VERSION_STRING), the CLI envector-keygen, and both
// packages (the Python envector-keys and the npm envector-keys). It equals the VERSION
// file at the repository root; scripts/set-version changes every place at once and
// scripts/check-version (run by `make lint`) names any that disagrees.
const Version = "0.3.0"
