package core

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParsePreset(t *testing.T) {
	for in, want := range map[string]Preset{
		"ip0": PresetIP0, "IP0": PresetIP0, "ip": PresetIP0, "Ip": PresetIP0, "": PresetIP0,
		"ip1": PresetIP1, "IP1": PresetIP1,
	} {
		got, err := ParsePreset(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	require.Equal(t, "IP0", PresetIP0.Name())
	require.Equal(t, uint64(2251799813554177), PresetIP0.Q())
	require.Equal(t, uint64(36028797014376449), PresetIP0.P())
	require.Equal(t, uint64(1152921504606830593), PresetIP1.Q())
	require.Equal(t, uint64(1032193), PresetIP1.P())
	require.Equal(t, 34.0, PresetIP1.LogDBScale())
	require.Equal(t, 24.0, PresetIP1.LogQueryScale())

	for _, in := range []string{"ip2", "ip01", "ckks", "i p0"} {
		_, err := ParsePreset(in)
		require.ErrorIs(t, err, ErrInvalidArgument, in)
		require.Contains(t, err.Error(), "accepted", in)
		require.Contains(t, err.Error(), "ip0", in)
		require.Contains(t, err.Error(), "ip1", in)
	}
}

// Both presets build lattigo parameters of ring degree 4096 with the Q and P of the
// design, under the 109-bit bound for 128-bit security.
func TestPresetParameters(t *testing.T) {
	for _, p := range []Preset{PresetIP0, PresetIP1} {
		params, err := p.ckksParameters()
		require.NoError(t, err)
		require.Equal(t, 4096, params.N())
		require.Equal(t, []uint64{p.Q()}, params.Q())
		require.Equal(t, []uint64{p.P()}, params.P())
		require.LessOrEqual(t, params.LogQP(), 109.0, p.String())
		require.Equal(t, 2048, params.MaxSlots())
	}
}

func TestParseEvalMode(t *testing.T) {
	for in, want := range map[string]EvalMode{"rmp": EvalModeRMP, "RMP": EvalModeRMP, "": EvalModeRMP, "MM": EvalModeMM, "mm": EvalModeMM} {
		got, err := ParseEvalMode(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"x", "rm", "mmm"} {
		_, err := ParseEvalMode(in)
		require.ErrorIs(t, err, ErrInvalidArgument, in)
		require.Contains(t, err.Error(), "accepted: rmp", in)
	}
}

func TestCheckDims(t *testing.T) {
	for _, d := range []int{48, 16, 8192, 0, -32, 31, 33, 4095, 1} {
		_, err := CheckDims([]int{32, d})
		require.ErrorIs(t, err, ErrInvalidArgument, "dim %d", d)
		require.Contains(t, err.Error(), "powers of two", "dim %d", d)
	}
	got, err := CheckDims([]int{4096, 32, 256, 32, 64, 4096})
	require.NoError(t, err)
	require.Equal(t, []int{32, 64, 256, 4096}, got, "sorted, without repeats")
	got, err = CheckDims([]int{32})
	require.NoError(t, err)
	require.Equal(t, []int{32}, got)
	got, err = CheckDims(nil)
	require.NoError(t, err)
	require.Equal(t, []int{32, 64, 128, 256, 512, 1024, 2048, 4096}, got)

	in := []int{64, 32}
	_, err = CheckDims(in)
	require.NoError(t, err)
	require.Equal(t, []int{64, 32}, in, "the caller's slice is not reordered")
}

func TestParseDimList(t *testing.T) {
	got, err := ParseDimList("32, 64,32")
	require.NoError(t, err)
	require.Equal(t, []int{32, 64}, got)
	got, err = ParseDimList("4096,128")
	require.NoError(t, err)
	require.Equal(t, []int{128, 4096}, got)
	require.Equal(t, "128,4096", FormatDimList(got))

	for _, in := range []string{"", " , ", "32,abc", "32;64", "48", "0x20"} {
		_, err := ParseDimList(in)
		require.ErrorIs(t, err, ErrInvalidArgument, "%q", in)
		require.Contains(t, err.Error(), "accepted", "%q", in)
	}
}

func TestParametersCheck(t *testing.T) {
	p, err := Parameters{}.Check()
	require.NoError(t, err)
	require.Equal(t, PresetIP0, p.Preset)
	require.Equal(t, EvalModeRMP, p.EvalMode)
	require.Equal(t, DefaultDims(), p.Dims)

	for name, bad := range map[string]Parameters{
		"unknown preset": {Preset: Preset{name: "IP9", q: 17, p: 97}},
		"unknown mode":   {EvalMode: "XX"},
		"bad dim":        {Dims: []int{32, 100}},
	} {
		_, err := bad.Check()
		require.ErrorIs(t, err, ErrInvalidArgument, name)
		_, err = Generate(GenerateOptions{KeyID: "k", Parameters: bad})
		require.ErrorIs(t, err, ErrInvalidArgument, "Generate with %s", name)
	}

	// A key set reports its checked parameters; the returned dims are a copy.
	ks := testKeySet(t, Parameters{EvalMode: EvalModeRMP, Dims: []int{64, 32}}, 0)
	got := ks.Parameters()
	require.Equal(t, []int{32, 64}, got.Dims)
	got.Dims[0] = 4096
	require.Equal(t, []int{32, 64}, ks.Parameters().Dims)
}

func TestKeyID(t *testing.T) {
	for _, id := range []string{"", "../x", "a/b", strings.Repeat("k", 200), strings.Repeat("k", 129), ".hidden", "-x", "a b", "ключ", "a\nb"} {
		_, err := Generate(GenerateOptions{KeyID: id})
		require.ErrorIs(t, err, ErrInvalidArgument, "key id %q", id)
		require.Contains(t, err.Error(), "accepted", "key id %q", id)
		require.ErrorIs(t, CheckKeyID(id), ErrInvalidArgument, "key id %q", id)
	}
	for _, id := range []string{"k", "my-key_1.v2", strings.Repeat("k", 128), "0abc"} {
		require.NoError(t, CheckKeyID(id), "key id %q", id)
	}
	ks, err := Generate(GenerateOptions{KeyID: strings.Repeat("k", 128), Parameters: Parameters{EvalMode: EvalModeMM}})
	require.NoError(t, err)
	require.Equal(t, strings.Repeat("k", 128), ks.ID())
}
