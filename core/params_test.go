package core

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParsePreset(t *testing.T) {
	for in, want := range map[string]Preset{
		"ip0": PresetIP0, "IP0": PresetIP0, "ip": PresetIP0, "Ip": PresetIP0,
		"ip1": PresetIP1, "IP2": PresetIP2, "ip3": PresetIP3, "": PresetIP3,
		"qf0": PresetQF0, "QF": PresetQF0, "qf1": PresetQF1, // qf-spec: evi's QF1 is QF0
	} {
		got, err := ParsePreset(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	// enVector's numbers, as its SDK writes them in the envelope.
	for _, c := range []struct {
		p       Preset
		q, pp   uint64
		db, qry float64
	}{
		{PresetIP0, 2251799813554177, 36028797014376449, 24, 24},
		{PresetIP1, 17179754497, 17179672577, 50.20749742380613, 16.207513934151113},
		{PresetIP2, 4294828033, 4294729729, 50.0610951224477, 12.353815795306446},
		{PresetIP3, 1073692673, 1073668097, 47, 11.4149706},
		{PresetQF0, 288230376135196673, 2251799810670593, 25, 25}, // qf-spec
	} {
		require.Equal(t, c.q, c.p.Q(), c.p.Name())
		require.Equal(t, c.pp, c.p.P(), c.p.Name())
		require.Equal(t, c.db, c.p.LogDBScale(), c.p.Name())
		require.Equal(t, c.qry, c.p.LogQueryScale(), c.p.Name())
		require.Equal(t, "evi", c.p.KeyFormat(), c.p.Name())
		spec, err := lookupEVISpec(c.p.Name())
		require.NoError(t, err)
		require.Equal(t, c.q, spec.q0, c.p.Name())
		require.Equal(t, c.pp, spec.q1, c.p.Name())
	}
	for in, says := range map[string]string{
		"ip4": "not published", "qf2": "unknown preset", "ip01": "unknown preset", "ckks": "unknown preset", "i p0": "unknown preset",
	} {
		_, err := ParsePreset(in)
		require.ErrorIs(t, err, ErrInvalidArgument, in)
		require.Contains(t, err.Error(), says, in)
		require.Contains(t, err.Error(), "accepted: ip0, ip1, ip2, ip3", in)
	}
}

// The presets of envector-keys 0.1 build lattigo parameters of ring degree 4096 with
// their Q and P, under the 109-bit bound for 128-bit security; key sets made with them
// are still verified.
func TestLegacyPresetParameters(t *testing.T) {
	for _, p := range []Preset{legacyIP0, legacyIP1} {
		params, err := p.ckksParameters()
		require.NoError(t, err)
		require.Equal(t, 4096, params.N())
		require.Equal(t, []uint64{p.Q()}, params.Q())
		require.Equal(t, []uint64{p.P()}, params.P())
		require.LessOrEqual(t, params.LogQP(), 109.0, p.String())
		require.Equal(t, 2048, params.MaxSlots())
	}
	_, err := PresetIP3.ckksParameters()
	require.ErrorIs(t, err, ErrInternal)
}

func TestParseEvalMode(t *testing.T) {
	for in, want := range map[string]EvalMode{"rmp": EvalModeRMP, "RMP": EvalModeRMP, "": "", "MM": EvalModeMM, "mm32": EvalModeMM32, "Flat": EvalModeFLAT, "single": EvalModeSINGLE, "mms32": EvalModeMMS32} {
		got, err := ParseEvalMode(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"x", "rm", "mmm", "mm64"} {
		_, err := ParseEvalMode(in)
		require.ErrorIs(t, err, ErrInvalidArgument, in)
		require.Contains(t, err.Error(), "accepted: mm32", in)
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
	require.Equal(t, PresetIP3, p.Preset, "enVector's SDK's default preset")
	require.Equal(t, EvalModeMM32, p.EvalMode, "and its default eval mode")
	require.Equal(t, DefaultDims(), p.Dims)
	// Each preset's default eval mode is one it takes.
	for preset, mode := range map[Preset]EvalMode{PresetIP0: EvalModeRMP, PresetIP1: EvalModeMM, PresetIP2: EvalModeMM, PresetIP3: EvalModeMM32, PresetQF0: EvalModeRMP} {
		p, err := Parameters{Preset: preset}.Check()
		require.NoError(t, err)
		require.Equal(t, mode, p.EvalMode, preset.String())
	}

	for name, c := range map[string]struct {
		p    Parameters
		says string
	}{
		"unknown preset":  {Parameters{Preset: Preset{name: "IP9", q: 17, p: 97, keyFormat: keyFormatEVI}}, "not generated"},
		"legacy preset":   {Parameters{Preset: legacyIP1}, "no longer generated"},
		"unknown mode":    {Parameters{EvalMode: "XX"}, "unknown eval mode"},
		"mm32 with ip1":   {Parameters{Preset: PresetIP1, EvalMode: EvalModeMM32}, "accepted with ip1: mm, rmp, flat, mms"},
		"mm with ip3":     {Parameters{Preset: PresetIP3, EvalMode: EvalModeMM}, "accepted with ip3: mm32, rmp, flat, mms32"},
		"single with ip2": {Parameters{Preset: PresetIP2, EvalMode: EvalModeSINGLE}, "does not go with preset ip2"},
		"single with qf1": {Parameters{Preset: PresetQF1, EvalMode: EvalModeSINGLE}, "accepted with qf0: rmp, flat, mm, mm32"}, // qf-spec
		"mms with ip3":    {Parameters{Preset: PresetIP3, EvalMode: EvalModeMMS}, "accepted with ip3: mm32, rmp, flat, mms32"},
		"mms32 with qf0":  {Parameters{Preset: PresetQF0, EvalMode: EvalModeMMS32}, "not yet generated"},
		"bad dim":         {Parameters{Dims: []int{32, 100}}, "dim 100"},
	} {
		_, err := c.p.Check()
		require.ErrorIs(t, err, ErrInvalidArgument, name)
		require.Contains(t, err.Error(), c.says, name)
		_, err = Generate(GenerateOptions{KeyID: "k", Parameters: c.p})
		require.ErrorIs(t, err, ErrInvalidArgument, "Generate with %s", name)
	}

	// A key set reports its checked parameters; the returned dims are a copy.
	ks, err := Generate(GenerateOptions{KeyID: "k", Parameters: Parameters{Preset: PresetIP0, EvalMode: EvalModeRMP, Dims: []int{64, 32}}})
	require.NoError(t, err)
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
	ks, err := Generate(GenerateOptions{KeyID: strings.Repeat("k", 128), Parameters: Parameters{Preset: PresetIP0, EvalMode: EvalModeSINGLE}})
	require.NoError(t, err)
	require.Equal(t, strings.Repeat("k", 128), ks.ID())
}
