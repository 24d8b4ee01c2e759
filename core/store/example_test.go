package store_test

import (
	"context"
	"fmt"
	"os"

	"github.com/envector-keys/envector-keys/core"
	"github.com/envector-keys/envector-keys/core/store"
)

// The README's Go usage: generate, seal, save in the local store, load a subset and
// the whole set, verify.
func Example() {
	dir, _ := os.MkdirTemp("", "envector-example-")
	defer os.RemoveAll(dir)
	ctx := context.Background()

	ks, err := core.Generate(core.GenerateOptions{
		KeyID:      "my-index",
		Parameters: core.Parameters{Preset: core.PresetIP0, EvalMode: core.EvalModeRMP, Dims: []int{128, 256}},
	})
	if err != nil {
		panic(err)
	}
	kek, _ := core.GenerateKEK() // in real use: core.ReadKEKFile("/secure/kek.hex")
	sealed, err := ks.Seal(kek)
	if err != nil {
		panic(err)
	}
	ks.Wipe()

	local := store.NewLocal(dir)
	if err := local.Save(ctx, sealed); err != nil {
		panic(err)
	}
	pub, err := local.Load(ctx, "my-index", core.EncKey, core.EvalKey)
	if err != nil {
		panic(err)
	}
	fmt.Println(pub.Roles())
	full, err := local.Load(ctx, "my-index")
	if err != nil {
		panic(err)
	}
	report, err := full.Verify(kek)
	if err != nil {
		panic(err)
	}
	fmt.Println(full.Sealed(), report.GaloisKeys) // key-switching keys: relinearization + 32 mod-pack
	err = local.Save(ctx, sealed)
	fmt.Println(core.KindOf(err) == core.ErrExists)
	// Output:
	// [EncKey EvalKey]
	// true 33
	// true
}
