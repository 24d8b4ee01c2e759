package core

import (
	"fmt"
	"math/bits"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/schemes/ckks"
)

// Preset names one of the fixed CKKS parameter sets. Both have ring degree N = 4096,
// one ciphertext prime Q and one key-switching prime P, a ternary secret of Hamming
// weight 2730 and error standard deviation 3.2, and stay under the 109-bit log2(QP)
// bound for 128-bit security at N = 4096.
type Preset struct {
	name        string // canonical upper-case name, as in the envelope
	q, p        uint64
	logDBScale  float64
	logQryScale float64
	// keyFormat is the key-data format the preset's keys are written in: keyFormatLattigo
	// for the presets this release generates, keyFormatEVI for enVector's own presets,
	// which are read (from files enVector's SDK wrote) but not yet generated.
	keyFormat string
}

// The presets this release generates. Their key data is lattigo's serialization (the
// envector-keys 0.1 key format): IP0's moduli and scales are enVector's IP0, IP1's are
// not enVector's IP1 (see EVIPresets).
var (
	PresetIP0 = Preset{name: "IP0", q: 2251799813554177, p: 36028797014376449, logDBScale: 24, logQryScale: 24, keyFormat: keyFormatLattigo}
	PresetIP1 = Preset{name: "IP1", q: 1152921504606830593, p: 1032193, logDBScale: 34, logQryScale: 24, keyFormat: keyFormatLattigo}
)

// Key-data formats: how the bytes inside an envelope's key_data are laid out.
const (
	// keyFormatLattigo is lattigo v5's serialization of EncKey and EvalKey and the
	// compact "EVSK" SecKey: what envector-keys 0.1 and this release generate.
	keyFormatLattigo = "lattigo-v5"
	// keyFormatEVI is enVector's own layout (CryptoLab's evi), as pyenvector writes it.
	keyFormatEVI = "evi"
)

// eviPresets are enVector's presets as its envelope metadata names them: the two
// numbers the metadata calls Q and P are the first two primes of the modulus chain
// (for QF0 and QF1, the one chain prime and the key-switching prime). Used to read
// envelopes enVector's SDK wrote; the scale factors are taken from the file.
var eviPresets = []Preset{
	{name: "IP0", q: 2251799813554177, p: 36028797014376449, keyFormat: keyFormatEVI},
	{name: "IP1", q: 17179754497, p: 17179672577, keyFormat: keyFormatEVI},
	{name: "IP2", q: 4294828033, p: 4294729729, keyFormat: keyFormatEVI},
	{name: "IP3", q: 1073692673, p: 1073668097, keyFormat: keyFormatEVI},
	{name: "QF0", q: 288230376135196673, p: 2251799810670593, keyFormat: keyFormatEVI},
	{name: "QF1", q: 288230376135196673, p: 2251799810670593, keyFormat: keyFormatEVI},
}

// eviPreset returns enVector's preset of that name with the scale factors an envelope
// recorded, or an error saying which presets are known.
func eviPreset(name string, q, p uint64, dbScale, qryScale float64) (Preset, error) {
	for _, pr := range eviPresets {
		if pr.name != name {
			continue
		}
		if q != pr.q || (p != pr.p && !strings.HasPrefix(name, "QF")) {
			return Preset{}, Errorf(ErrCorrupt, "params", "preset %s with Q %d and P %d; enVector's %s has Q %d and P %d", name, q, p, name, pr.q, pr.p)
		}
		pr.logDBScale, pr.logQryScale = dbScale, qryScale
		return pr, nil
	}
	if name == "IP4" {
		return Preset{}, Errorf(ErrCorrupt, "params", "preset IP4 is not supported: its parameters are not public; accepted: IP0, IP1, IP2, IP3, QF0, QF1")
	}
	return Preset{}, Errorf(ErrCorrupt, "params", "unknown preset %s; accepted: IP0, IP1, IP2, IP3, QF0, QF1", quoteShort(name))
}

const (
	logN           = 12
	ringDegree     = 1 << logN
	slotCount      = ringDegree / 2
	hammingWeight  = 2730
	errorSigma     = 3.2
	errorBound     = 6 * errorSigma
	minDim, maxDim = 32, 4096
)

// Name returns the preset's name as the envelope writes it ("IP0", "IP1").
func (p Preset) Name() string { return p.name }

// Q returns the ciphertext modulus.
func (p Preset) Q() uint64 { return p.q }

// P returns the key-switching modulus.
func (p Preset) P() uint64 { return p.p }

// LogDBScale returns log2 of the scale the database side encodes with.
func (p Preset) LogDBScale() float64 { return p.logDBScale }

// LogQueryScale returns log2 of the scale queries are encoded with.
func (p Preset) LogQueryScale() float64 { return p.logQryScale }

// KeyFormat names the layout of the preset's key data: "lattigo-v5" (what this release
// generates) or "evi" (enVector's own, read from its SDK's files).
func (p Preset) KeyFormat() string { return p.keyFormat }

func (p Preset) String() string { return strings.ToLower(p.name) }

// ParsePreset accepts "ip0", "ip1" and "ip" (= ip0), in any case. The empty string
// gives the default, ip0.
func ParsePreset(s string) (Preset, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "", "IP", "IP0":
		return PresetIP0, nil
	case "IP1":
		return PresetIP1, nil
	}
	return Preset{}, Errorf(ErrInvalidArgument, "params", "unknown preset %q; accepted: ip0 (default), ip1, ip (= ip0)", s)
}

// EvalMode says which evaluation keys the EvalKey holds.
type EvalMode string

// The eval modes. RMP holds the relinearization key, the rotation keys that sum dim
// slots and the conjugation key; MM holds the relinearization key only.
const (
	EvalModeRMP EvalMode = "RMP"
	EvalModeMM  EvalMode = "MM"
)

func (m EvalMode) String() string { return strings.ToLower(string(m)) }

// ParseEvalMode accepts "rmp" and "mm", in any case. The empty string gives rmp.
func ParseEvalMode(s string) (EvalMode, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "", "RMP":
		return EvalModeRMP, nil
	case "MM":
		return EvalModeMM, nil
	}
	return "", Errorf(ErrInvalidArgument, "params", "unknown eval mode %q; accepted: rmp (default), mm", s)
}

// DefaultDims is the default dimension list: 32, 64, ..., 4096.
func DefaultDims() []int { return []int{32, 64, 128, 256, 512, 1024, 2048, 4096} }

// CheckDims returns the dims sorted and without repeats, or an error if one is not a
// power of two between 32 and 4096. An empty list gives DefaultDims.
func CheckDims(dims []int) ([]int, error) {
	if len(dims) == 0 {
		return DefaultDims(), nil
	}
	seen := map[int]bool{}
	out := make([]int, 0, len(dims))
	for _, d := range dims {
		if d < minDim || d > maxDim || bits.OnesCount(uint(d)) != 1 {
			return nil, Errorf(ErrInvalidArgument, "params", "dim %d is not accepted; accepted: powers of two from %d to %d (32, 64, ..., 4096)", d, minDim, maxDim)
		}
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	sort.Ints(out)
	return out, nil
}

// ParseDimList parses a comma-separated list such as "32,64,128" (spaces allowed) and
// checks it like CheckDims.
func ParseDimList(s string) ([]int, error) {
	var dims []int
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		d, err := strconv.Atoi(f)
		if err != nil {
			return nil, Errorf(ErrInvalidArgument, "params", "dim %q is not a number; accepted: powers of two from %d to %d", f, minDim, maxDim)
		}
		dims = append(dims, d)
	}
	if len(dims) == 0 {
		return nil, Errorf(ErrInvalidArgument, "params", "empty dim list; accepted: powers of two from %d to %d, comma-separated", minDim, maxDim)
	}
	return CheckDims(dims)
}

// FormatDimList writes dims the way the envelope stores them: "32,64,128".
func FormatDimList(dims []int) string {
	parts := make([]string, len(dims))
	for i, d := range dims {
		parts[i] = strconv.Itoa(d)
	}
	return strings.Join(parts, ",")
}

// Parameters are the choices that shape a key set: the preset, the eval mode and the
// vector dimensions the evaluation keys support. The zero value means the defaults
// (ip0, rmp, 32..4096) once passed through Check.
type Parameters struct {
	Preset   Preset
	EvalMode EvalMode
	Dims     []int
}

// Check fills defaults and validates: a zero Preset becomes ip0, an empty EvalMode rmp,
// empty Dims DefaultDims; dims are sorted and deduplicated.
func (p Parameters) Check() (Parameters, error) {
	if p.Preset == (Preset{}) {
		p.Preset = PresetIP0
	} else if p.Preset != PresetIP0 && p.Preset != PresetIP1 {
		return p, Errorf(ErrInvalidArgument, "params", "unknown preset; accepted: ip0, ip1")
	}
	if p.EvalMode == "" {
		p.EvalMode = EvalModeRMP
	}
	if _, err := ParseEvalMode(string(p.EvalMode)); err != nil {
		return p, err
	}
	dims, err := CheckDims(p.Dims)
	if err != nil {
		return p, err
	}
	p.Dims = dims
	return p, nil
}

func (p Parameters) equal(o Parameters) bool {
	return p.Preset == o.Preset && p.EvalMode == o.EvalMode && FormatDimList(p.Dims) == FormatDimList(o.Dims)
}

var ckksParametersCache sync.Map // preset name -> ckks.Parameters

// ckksParameters returns the lattigo parameters of a preset. They are immutable and
// safe for concurrent use, so each preset's are built once (NTT tables take ~1.4 ms).
func (p Preset) ckksParameters() (ckks.Parameters, error) {
	if p.keyFormat != keyFormatLattigo {
		return ckks.Parameters{}, Errorf(ErrInvalidArgument, "params", "keys of enVector's preset %s (evi key format) cannot be generated or checked by this release yet", p.name)
	}
	if v, ok := ckksParametersCache.Load(p.name); ok {
		return v.(ckks.Parameters), nil
	}
	params, err := ckks.NewParametersFromLiteral(ckks.ParametersLiteral{
		LogN:            logN,
		Q:               []uint64{p.q},
		P:               []uint64{p.p},
		Xs:              ring.Ternary{H: hammingWeight},
		Xe:              ring.DiscreteGaussian{Sigma: errorSigma, Bound: errorBound},
		LogDefaultScale: int(p.logDBScale),
	})
	if err != nil {
		return ckks.Parameters{}, Wrap(ErrInternal, "params", err, "preset %s", p.name)
	}
	ckksParametersCache.Store(p.name, params)
	return params, nil
}

// rotations returns the rotation amounts of the rmp eval mode: 1, 2, 4, ... below the
// largest dim and below the slot count.
func (p Parameters) rotations() []int {
	if p.EvalMode != EvalModeRMP || len(p.Dims) == 0 {
		return nil
	}
	largest := p.Dims[len(p.Dims)-1]
	var rots []int
	for k := 1; k < largest && k < slotCount; k *= 2 {
		rots = append(rots, k)
	}
	return rots
}

// galoisElements returns the Galois elements the EvalKey holds keys for, sorted: the
// rotations and the conjugation for rmp, none for mm.
func (p Parameters) galoisElements(params ckks.Parameters) []uint64 {
	if p.EvalMode != EvalModeRMP {
		return nil
	}
	els := params.GaloisElements(p.rotations())
	els = append(els, params.GaloisElementForComplexConjugation())
	sort.Slice(els, func(i, j int) bool { return els[i] < els[j] })
	return els
}

func (p Parameters) String() string {
	return fmt.Sprintf("%s/%s/%s", p.Preset, p.EvalMode, FormatDimList(p.Dims))
}
