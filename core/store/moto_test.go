package store

import (
	"os"
	"testing"

	"github.com/envector-keys/envector-keys/internal/motoserver"
)

// The AWS tests run the real AWS SDK against moto in server mode (see
// internal/motoserver): the first test that needs it starts moto_server on a free
// loopback port, and TestMain stops it. Without moto_server the AWS tests fail, saying
// how to install it.

func TestMain(m *testing.M) {
	code := m.Run()
	motoserver.StopShared()
	os.Exit(code)
}

// needMoto starts moto once (pointing this process's AWS environment at it, with dummy
// credentials) and returns its URL; without moto the test fails.
func needMoto(t testing.TB) string {
	t.Helper()
	srv, err := motoserver.Shared()
	if err != nil {
		t.Fatalf("moto is needed for the AWS store tests and is not running: %v", err)
	}
	return srv.URL
}

// resetMoto starts moto if needed and empties it: no bucket, no secret.
func resetMoto(t testing.TB) {
	t.Helper()
	needMoto(t)
	srv, _ := motoserver.Shared()
	if err := srv.Reset(); err != nil {
		t.Fatal(err)
	}
}
