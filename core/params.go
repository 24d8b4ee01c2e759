package core

import (
	"fmt"
	"math/bits"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/tuneinsight/lattigo/v5/ring"
	"github.com/tuneinsight/lattigo/v5/schemes/ckks"
)

// Preset names one of enVector's fixed CKKS parameter sets (DESIGN.md §3). All have
// ring degree N = 4096; the envelope records the first two primes of the modulus chain
// (as Q and P) and the scale factors as log2 of the scale.
type Preset struct {
	name        string // canonical upper-case name, as in the envelope
	q, p        uint64
	logDBScale  float64
	logQryScale float64
	// keyFormat is the layout of the preset's key data: keyFormatEVI for enVector's
	// presets (what this release generates), keyFormatLattigo for the presets of
	// envector-keys 0.1, whose key sets are still read and verified.
	keyFormat string
}

// enVector's presets, number for number, as its SDK (pyenvector 1.6.3) writes them.
// Keys of these presets are made in enVector's own layout.
var (
	PresetIP0 = Preset{name: "IP0", q: 2251799813554177, p: 36028797014376449, logDBScale: 24, logQryScale: 24, keyFormat: keyFormatEVI}
	PresetIP1 = Preset{name: "IP1", q: 17179754497, p: 17179672577, logDBScale: 50.20749742380613, logQryScale: 16.207513934151113, keyFormat: keyFormatEVI}
	PresetIP2 = Preset{name: "IP2", q: 4294828033, p: 4294729729, logDBScale: 50.0610951224477, logQryScale: 12.353815795306446, keyFormat: keyFormatEVI}
	PresetIP3 = Preset{name: "IP3", q: 1073692673, p: 1073668097, logDBScale: 47, logQryScale: 11.4149706, keyFormat: keyFormatEVI}
	// PresetQF0: one 58-bit chain prime with a 51-bit special prime; scale 2^25 for the
	// database and the queries (qf-spec, as evi 1.6.3 writes it).
	PresetQF0 = Preset{name: "QF0", q: 288230376135196673, p: 2251799810670593, logDBScale: 25, logQryScale: 25, keyFormat: keyFormatEVI}
	// PresetQF1 is PresetQF0: evi builds its QF1 from QF0's parameters and its QF1 keys
	// and envelopes say QF0 (qf-spec).
	PresetQF1 = PresetQF0
)

// The presets of envector-keys 0.1 (lattigo's key layout): read and verified, no longer
// generated. Its IP0 has enVector's moduli; its IP1 does not.
var (
	legacyIP0 = Preset{name: "IP0", q: 2251799813554177, p: 36028797014376449, logDBScale: 24, logQryScale: 24, keyFormat: keyFormatLattigo}
	legacyIP1 = Preset{name: "IP1", q: 1152921504606830593, p: 1032193, logDBScale: 34, logQryScale: 24, keyFormat: keyFormatLattigo}
)

// Key-data formats: how the bytes inside an envelope's key_data are laid out.
const (
	// keyFormatLattigo is lattigo v5's serialization of EncKey and EvalKey and the
	// compact "EVSK" SecKey: what envector-keys 0.1 generated.
	keyFormatLattigo = "lattigo-v5"
	// keyFormatEVI is enVector's own layout (CryptoLab's evi), as pyenvector writes it.
	keyFormatEVI = "evi"
)

// eviPresets are enVector's presets as its envelope metadata names them, for reading
// envelopes (the scale factors are taken from the file). evi writes QF1 sets as QF0; an
// envelope naming QF1 is read all the same.
var eviPresets = []Preset{
	PresetIP0, PresetIP1, PresetIP2, PresetIP3, PresetQF0,
	{name: "QF1", q: 288230376135196673, p: 2251799810670593, keyFormat: keyFormatEVI},
}

// eviPreset returns enVector's preset of that name with the scale factors an envelope
// recorded, or an error saying which presets are known.
func eviPreset(name string, q, p uint64, dbScale, qryScale float64) (Preset, error) {
	for _, pr := range eviPresets {
		if pr.name != name {
			continue
		}
		if q != pr.q || p != pr.p {
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

// legacyPreset returns the envector-keys 0.1 preset of that name.
func legacyPreset(name string) (Preset, bool) {
	switch name {
	case "IP0":
		return legacyIP0, true
	case "IP1":
		return legacyIP1, true
	}
	return Preset{}, false
}

const (
	logN           = 12
	ringDegree     = 1 << logN
	slotCount      = ringDegree / 2
	hammingWeight  = 2730 // of the envector-keys 0.1 (lattigo) secrets; enVector's have 1024
	errorSigma     = 3.2
	errorBound     = 6 * errorSigma
	minDim, maxDim = 32, 4096
)

// Name returns the preset's name as the envelope writes it ("IP0", ..., "IP3").
func (p Preset) Name() string { return p.name }

// Q returns the first prime of the modulus chain ("Q" in the envelope).
func (p Preset) Q() uint64 { return p.q }

// P returns the second prime of the modulus chain ("P" in the envelope; for the
// envector-keys 0.1 presets, the key-switching prime).
func (p Preset) P() uint64 { return p.p }

// LogDBScale returns log2 of the scale the database side encodes with.
func (p Preset) LogDBScale() float64 { return p.logDBScale }

// LogQueryScale returns log2 of the scale queries are encoded with.
func (p Preset) LogQueryScale() float64 { return p.logQryScale }

// KeyFormat names the layout of the preset's key data: "evi" (enVector's own, what this
// release makes) or "lattigo-v5" (envector-keys 0.1's, read only).
func (p Preset) KeyFormat() string { return p.keyFormat }

func (p Preset) String() string { return strings.ToLower(p.name) }

// ParsePreset accepts "ip0" to "ip3", "ip" (= ip0), "qf0", "qf1" and "qf" (= qf0), in
// any case. The empty string gives the default, ip3 (as enVector's SDK). qf1 gives
// PresetQF1, which is PresetQF0 (evi's QF1 keys say QF0). IP4 (enVector's, not public)
// is refused with a message saying so.
func ParsePreset(s string) (Preset, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "", "IP3":
		return PresetIP3, nil
	case "IP", "IP0":
		return PresetIP0, nil
	case "IP1":
		return PresetIP1, nil
	case "IP2":
		return PresetIP2, nil
	case "QF", "QF0":
		return PresetQF0, nil
	case "QF1":
		return PresetQF1, nil
	case "IP4":
		return Preset{}, Errorf(ErrInvalidArgument, "params", "preset ip4 is not supported: enVector has not published its parameters; accepted: ip0, ip1, ip2, ip3 (default), qf0, qf1")
	}
	return Preset{}, Errorf(ErrInvalidArgument, "params", "unknown preset %s; accepted: ip0, ip1, ip2, ip3 (default), ip (= ip0), qf0, qf1, qf (= qf0)", quoteShort(s))
}

// EvalMode says which evaluation keys the EvalKey holds (enVector's eval modes).
type EvalMode string

// The eval modes. RMP and FLAT: a relinearization key and mod-pack keys (RMP: one file
// per inner rank, FLAT: one per dim); SINGLE: the relinearization key only; MM and MM32:
// 4,096 automorphism keys; MMS and MMS32: those plus sub-secret keys (read, not yet
// generated). In envector-keys 0.1 key sets (lattigo layout), RMP meant relinearization,
// rotation and conjugation keys and MM the relinearization key only.
const (
	EvalModeRMP    EvalMode = "RMP"
	EvalModeFLAT   EvalMode = "FLAT"
	EvalModeSINGLE EvalMode = "SINGLE"
	EvalModeMM     EvalMode = "MM"
	EvalModeMM32   EvalMode = "MM32"
	EvalModeMMS    EvalMode = "MMS"
	EvalModeMMS32  EvalMode = "MMS32"
)

func (m EvalMode) String() string { return strings.ToLower(string(m)) }

// evalModesOf lists, per preset, the eval modes this release generates (enVector's rule:
// mm with ip1/ip2, mm32 with ip3, rmp with any; and what evi accepts besides).
var evalModesOf = map[string][]EvalMode{
	"IP0": {EvalModeRMP, EvalModeFLAT, EvalModeSINGLE, EvalModeMM},
	"IP1": {EvalModeMM, EvalModeRMP, EvalModeFLAT, EvalModeMMS},
	"IP2": {EvalModeMM, EvalModeRMP, EvalModeFLAT, EvalModeMMS},
	"IP3": {EvalModeMM32, EvalModeRMP, EvalModeFLAT, EvalModeMMS32},
	"QF0": {EvalModeRMP, EvalModeFLAT, EvalModeMM, EvalModeMM32}, // qf-spec: evi also makes MMS, MMS32; refuses SINGLE
}

// ParseEvalMode accepts rmp, flat, single, mm, mm32, mms and mms32, in any case. The
// empty string means the preset's default (see Parameters.Check).
func ParseEvalMode(s string) (EvalMode, error) {
	t := EvalMode(strings.ToUpper(strings.TrimSpace(s)))
	switch t {
	case "", EvalModeRMP, EvalModeFLAT, EvalModeSINGLE, EvalModeMM, EvalModeMM32, EvalModeMMS, EvalModeMMS32:
		return t, nil
	}
	return "", Errorf(ErrInvalidArgument, "params", "unknown eval mode %s; accepted: mm32 (default with ip3), mm (default with ip1, ip2), rmp (default with ip0), flat, single", quoteShort(s))
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
// (ip3, mm32, 32..4096, as enVector's SDK) once passed through Check.
type Parameters struct {
	Preset   Preset
	EvalMode EvalMode
	Dims     []int
}

// Check fills defaults and validates: a zero Preset becomes ip3; an empty EvalMode the
// preset's default (mm32 with ip3, mm with ip1 and ip2, rmp with ip0); empty Dims
// DefaultDims; dims are sorted and deduplicated. A preset and eval mode that do not go
// together are refused, naming the modes the preset takes.
func (p Parameters) Check() (Parameters, error) {
	if p.Preset == (Preset{}) {
		p.Preset = PresetIP3
	}
	if p.Preset.keyFormat == keyFormatLattigo {
		return p, Errorf(ErrInvalidArgument, "params", "preset %s of envector-keys 0.1 (lattigo key layout) is read but no longer generated; accepted: ip0, ip1, ip2, ip3, qf0, qf1", p.Preset)
	}
	modes, ok := evalModesOf[p.Preset.name]
	if !ok {
		return p, Errorf(ErrInvalidArgument, "params", "preset %s is not generated by this release; accepted: ip0, ip1, ip2, ip3, qf0, qf1", p.Preset)
	}
	mode, err := ParseEvalMode(string(p.EvalMode))
	if err != nil {
		return p, err
	}
	if mode == "" {
		mode = modes[0]
	}
	if !slices.Contains(modes, mode) {
		names := make([]string, len(modes))
		for i, m := range modes {
			names[i] = m.String()
		}
		why := ""
		if mode == EvalModeMMS || mode == EvalModeMMS32 {
			why = " (mms and mms32 with qf0 are read, not yet generated)"
		}
		return p, Errorf(ErrInvalidArgument, "params", "eval mode %s does not go with preset %s%s; accepted with %s: %s", mode, p.Preset, why, p.Preset, strings.Join(names, ", "))
	}
	p.EvalMode = mode
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
		return ckks.Parameters{}, Errorf(ErrInternal, "params", "preset %s has enVector's key layout, not lattigo's", p.name)
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
