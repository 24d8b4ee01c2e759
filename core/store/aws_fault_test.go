package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/require"

	"github.com/envector-keys/envector-keys/core"
	"github.com/envector-keys/envector-keys/internal/faultproxy"
)

// The fault tests save key sets through internal/faultproxy, which stands between the
// real AWS SDK (with the store's production retry settings) and moto and fails chosen
// requests: the answer lost after the request was carried out, the connection dropped
// before it, a 500 error, a delay. Whatever fails, a save must end with the whole key
// set stored or nothing of it, and a failed save's error must name the call, the object
// or secret and what AWS said.
//
// These tests do not reset moto (other tests do, one at a time): each uses its own
// bucket and gives every save its own prefix, so they run in parallel with each other,
// after the sequential tests, and their saves run concurrently.

// faultEnv is a bucket on moto for fault tests, with the real clients that check what
// is stored behind the proxies' backs.
type faultEnv struct {
	moto   string
	bucket string
	s3     *s3.Client
	sm     *secretsmanager.Client
	seq    atomic.Int32
}

func newFaultEnv(t *testing.T) *faultEnv {
	t.Helper()
	url := needMoto(t)
	ctx := context.Background()
	s3c, smc, err := LoadAWSClients(ctx, testRegion)
	require.NoError(t, err)
	var rnd [6]byte
	rand.Read(rnd[:])
	bucket := "fault-" + hex.EncodeToString(rnd[:])
	_, err = s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	require.NoError(t, err)
	return &faultEnv{moto: url, bucket: bucket, s3: s3c, sm: smc}
}

// faultRun is one save's proxy and the store that goes through it, and a store on the
// same prefix that talks to moto directly.
type faultRun struct {
	proxy  *faultproxy.Proxy
	st     *AWS // through the proxy
	direct *AWS // straight to moto
	prefix string
}

// newRun starts a proxy to moto and makes the two stores on a prefix of their own.
// The proxied store's clients are made by LoadAWSClients, as in production (retries
// included), with the proxy as their endpoint. A multipartThreshold above 0 makes the
// store send objects over that many bytes as multipart uploads.
func (fe *faultEnv) newRun(multipartThreshold int64) (*faultRun, error) {
	ctx := context.Background()
	p, err := faultproxy.Start(fe.moto)
	if err != nil {
		return nil, err
	}
	s3c, smc, err := LoadAWSClients(ctx, testRegion)
	if err != nil {
		p.Close()
		return nil, err
	}
	so, mo := s3c.Options(), smc.Options()
	so.BaseEndpoint, mo.BaseEndpoint = aws.String(p.URL()), aws.String(p.URL())
	// Secrets are per account, not per bucket: the bucket's name keeps the prefix
	// apart from other fault tests'.
	prefix := fmt.Sprintf("%s/%d", fe.bucket, fe.seq.Add(1))
	st, err := NewAWS(ctx, AWSConfig{Region: testRegion, Bucket: fe.bucket, Prefix: prefix, S3: s3.New(so), Secrets: secretsmanager.New(mo)})
	if err != nil {
		p.Close()
		return nil, err
	}
	if multipartThreshold > 0 {
		st.multipartThreshold = multipartThreshold
	}
	direct, err := NewAWS(ctx, AWSConfig{Region: testRegion, Bucket: fe.bucket, Prefix: prefix, S3: fe.s3, Secrets: fe.sm})
	if err != nil {
		p.Close()
		return nil, err
	}
	return &faultRun{proxy: p, st: st, direct: direct, prefix: prefix}, nil
}

// errorNames is what a failed save's error must hold: the call, and the object or
// secret it was about.
var errorNames = regexp.MustCompile(`(S3 \w+( \(part \d+\))? s3://\S+/(enc|eval)_blob\.json|Secrets Manager \w+ secret \S+/(sec|metadata)_blob)`)

// check returns what is wrong with the state after a save of ks that returned saveErr:
// on success the whole key set must load, byte for byte what was saved, with no
// multipart upload pending; on failure nothing of it may be stored (no object, no
// secret, not even one scheduled for deletion, no pending upload) and the error must
// name what failed.
func (fe *faultEnv) check(r *faultRun, ks *core.KeySet, saveErr error) error {
	ctx := context.Background()
	var problems []string
	out, err := fe.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(fe.bucket), Prefix: aws.String(r.prefix + "/")})
	if err != nil {
		return err
	}
	objects := map[string]bool{}
	for _, o := range out.Contents {
		objects[aws.ToString(o.Key)] = true
	}
	ups, err := fe.s3.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String(fe.bucket), Prefix: aws.String(r.prefix + "/")})
	if err != nil {
		return err
	}
	for _, u := range ups.Uploads {
		problems = append(problems, fmt.Sprintf("multipart upload %s of %s left pending", aws.ToString(u.UploadId), aws.ToString(u.Key)))
	}
	secrets := map[string]string{}
	for _, role := range []core.Role{core.SecKey, core.MetadataKey} {
		name := r.direct.SecretName(ks.ID(), role)
		d, err := fe.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
		switch {
		case errorCode(err) == "ResourceNotFoundException":
		case err != nil:
			return err
		case d.DeletedDate != nil:
			secrets[name] = "scheduled for deletion"
		default:
			secrets[name] = "live"
		}
	}
	if saveErr == nil {
		for _, role := range []core.Role{core.EncKey, core.EvalKey} {
			delete(objects, r.direct.ObjectKey(ks.ID(), role))
		}
		for k := range objects {
			problems = append(problems, "stray object "+k)
		}
		got, err := r.direct.Load(ctx, ks.ID())
		if err != nil {
			problems = append(problems, fmt.Sprintf("the save succeeded but the key set does not load: %v", err))
		} else if !slices.Equal(got.Roles(), ks.Roles()) {
			problems = append(problems, fmt.Sprintf("the save succeeded but loads roles %v, not %v", got.Roles(), ks.Roles()))
		} else {
			for _, role := range ks.Roles() {
				w, _ := ks.Blob(role)
				g, _ := got.Blob(role)
				if !bytes.Equal(w, g) {
					problems = append(problems, fmt.Sprintf("%s loads other bytes than were saved", role))
				}
			}
		}
	} else {
		for k := range objects {
			problems = append(problems, "the save failed but left object "+k)
		}
		for name, state := range secrets {
			problems = append(problems, fmt.Sprintf("the save failed but left secret %s (%s)", name, state))
		}
		if !errorNames.MatchString(saveErr.Error()) {
			problems = append(problems, "the error does not name the call and the object or secret")
		}
		if !strings.Contains(saveErr.Error(), "(") {
			problems = append(problems, "the error does not say what AWS said")
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// faultCase is one save with faults injected.
type faultCase struct {
	variant   string
	ks        *core.KeySet
	threshold int64             // the store's multipart threshold; 0: the default
	base      *faultproxy.Fault // a fault that makes the save fail (then fault hits its rollback), or nil
	fault     faultproxy.Fault
}

func (c faultCase) String() string { return c.variant + ": " + c.fault.String() }

// refuse3 refuses three times in a row (all the SDK's attempts) the requests of S3
// operation op on the EvalKey object.
func refuse3(op string) *faultproxy.Fault {
	return &faultproxy.Fault{Kind: faultproxy.InternalError, At: 1, Count: 3, Match: func(r *http.Request) bool {
		q := r.URL.Query()
		s3op := q.Get("x-id")
		if r.Method == http.MethodPost && q.Has("uploadId") {
			s3op = "CompleteMultipartUpload"
		}
		return s3op == op && strings.HasSuffix(r.URL.Path, "/eval_blob.json")
	}}
}

// faultResult is what became of one faultCase.
type faultResult struct {
	c       faultCase
	saveErr error
	problem error // what check found wrong, or a failure to run the case
	log     []faultproxy.Entry
	took    time.Duration
}

// run saves c.ks through a new proxy with c.fault injected, and checks the outcome.
func (fe *faultEnv) run(c faultCase) faultResult {
	start := time.Now()
	res := faultResult{c: c}
	r, err := fe.newRun(c.threshold)
	if err != nil {
		res.problem = err
		return res
	}
	defer r.proxy.Close()
	if c.base != nil {
		r.proxy.Inject(*c.base)
	}
	if c.fault.Kind != faultproxy.Forward {
		r.proxy.Inject(c.fault)
	}
	res.saveErr = r.st.Save(context.Background(), c.ks)
	res.log = r.proxy.Log()
	res.problem = fe.check(r, c.ks, res.saveErr)
	res.took = time.Since(start)
	return res
}

// TestAWSFaultMatrix counts the requests of one clean save through the proxy, then
// saves again with each fault kind injected at each request index: once (the SDK's
// retries must then make the save succeed) and for three requests in a row (as many as
// the SDK's attempts, so that a call can fail). Key sets: ip0/rmp of dims 32 with a
// MetadataKey; the same with its EvalKey sent as a multipart upload; and sealed. Then
// the rollback is put through the same: the EvalKey's PutObject (or
// CompleteMultipartUpload) is refused three times, so the save fails, and each fault
// kind hits each request index of the save and its rollback once; nothing may be left.
func TestAWSFaultMatrix(t *testing.T) {
	t.Parallel()
	fe := newFaultEnv(t)
	plain := newKeySet(t, "fk")
	kek, err := core.GenerateKEK()
	require.NoError(t, err)
	sealed, err := plain.Seal(kek)
	require.NoError(t, err)
	// The multipart variant sends the EncKey in one PutObject and the EvalKey (larger)
	// as a multipart upload.
	encSize, err := plain.BlobSize(core.EncKey)
	require.NoError(t, err)
	evalSize, err := plain.BlobSize(core.EvalKey)
	require.NoError(t, err)
	require.Greater(t, evalSize, encSize)
	variants := []struct {
		name      string
		ks        *core.KeySet
		threshold int64
		base      *faultproxy.Fault
	}{
		{"plain", plain, 0, nil},
		{"multipart", plain, encSize, nil},
		{"sealed", sealed, 0, nil},
		{"plain, EvalKey refused", plain, 0, refuse3("PutObject")},
		{"multipart, EvalKey refused", plain, encSize, refuse3("CompleteMultipartUpload")},
	}

	// The requests of each variant's save (and rollback), counted at once.
	counted := make([]faultResult, len(variants))
	var counting sync.WaitGroup
	for i, v := range variants {
		counting.Go(func() {
			c := faultCase{variant: v.name, ks: v.ks, threshold: v.threshold, base: v.base}
			counted[i] = fe.run(c)
		})
	}
	counting.Wait()
	var cases []faultCase
	for i, v := range variants {
		res := counted[i]
		require.NoError(t, res.problem, v.name)
		require.Equal(t, v.base != nil, res.saveErr != nil, "%s: %v", v.name, res.saveErr)
		n := len(res.log)
		t.Logf("a %s save makes %d requests: %v", v.name, n, res.log)
		for at := 1; at <= n+2; at++ {
			for _, kind := range faultproxy.Kinds {
				counts := []int{1, 3}
				if kind == faultproxy.Delay || v.base != nil {
					counts = []int{1}
				}
				for _, count := range counts {
					cases = append(cases, faultCase{variant: v.name, ks: v.ks, threshold: v.threshold, base: v.base,
						fault: faultproxy.Fault{Kind: kind, At: at, Count: count, Delay: 100 * time.Millisecond}})
				}
			}
		}
	}

	start := time.Now()
	results := make([]faultResult, len(cases))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i, c := range cases {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = fe.run(c)
		})
	}
	wg.Wait()

	var succeeded, failed int
	var slowest time.Duration
	for _, res := range results {
		slowest = max(slowest, res.took)
		if res.saveErr == nil {
			succeeded++
		} else {
			failed++
		}
		problem := res.problem
		switch {
		case problem != nil:
		case res.c.base == nil && res.c.fault.Count == 1 && res.saveErr != nil:
			problem = errors.New("one fault, which the SDK's retries must get over, made the save fail")
		case res.c.base != nil && res.saveErr == nil:
			problem = errors.New("the save succeeded although its EvalKey was refused")
		}
		if problem != nil {
			t.Errorf("%s: %v\nsave error: %v\nrequests: %v", res.c, problem, res.saveErr, res.log)
		}
	}
	t.Logf("%d faulted saves (%d succeeded, %d failed and left nothing) in %s; the slowest took %s",
		len(cases), succeeded, failed, time.Since(start).Round(time.Millisecond), slowest.Round(time.Millisecond))
	require.Greater(t, failed, 0, "no faulted save failed: the matrix tests nothing of the rollback")
}

// The scenario of a lost answer, one call at a time: the request was carried out, the
// answer lost, and the SDK's retry refused because the first attempt succeeded (S3's
// If-None-Match: * answers PreconditionFailed against the save's own object; moto
// answers a retried CreateSecret or CompleteMultipartUpload with success). The save
// recognises its own object or secret and succeeds, with nothing stray.
func TestAWSFaultLostAnswer(t *testing.T) {
	t.Parallel()
	fe := newFaultEnv(t)
	ks := newKeySet(t, "lost")
	encSize, err := ks.BlobSize(core.EncKey)
	require.NoError(t, err)
	op := func(name string) func(*http.Request) bool {
		return func(r *http.Request) bool {
			return r.Header.Get("X-Amz-Target") == name ||
				(r.URL.Query().Get("x-id") == name && strings.HasSuffix(r.URL.Path, "/eval_blob.json")) ||
				(name == "CompleteMultipartUpload" && r.Method == http.MethodPost && r.URL.Query().Has("uploadId"))
		}
	}
	for _, tc := range []struct {
		name      string
		threshold int64
		match     func(*http.Request) bool
		retried   int // the status the upstream gave the retry
	}{
		{"PutObject", 0, op("PutObject"), http.StatusPreconditionFailed},
		{"CreateSecret", 0, op("secretsmanager.CreateSecret"), http.StatusOK},
		{"CompleteMultipartUpload", encSize, op("CompleteMultipartUpload"), 0},
	} {
		r, err := fe.newRun(tc.threshold)
		require.NoError(t, err)
		r.proxy.Inject(faultproxy.Fault{Kind: faultproxy.DropResponse, At: 1, Match: tc.match})
		require.NoError(t, r.st.Save(context.Background(), ks), tc.name)
		require.NoError(t, fe.check(r, ks, nil), tc.name)
		log := r.proxy.Log()
		hit := r.proxy.Faulted()
		require.Len(t, hit, 1, "%s: %v", tc.name, log)
		require.Equal(t, 200, hit[0].Upstream, "%s: %v", tc.name, log)
		var retry *faultproxy.Entry
		for i := range log {
			if log[i].N > hit[0].N && log[i].Op == hit[0].Op {
				retry = &log[i]
				break
			}
		}
		require.NotNil(t, retry, "%s: the SDK did not retry: %v", tc.name, log)
		if tc.retried != 0 {
			require.Equal(t, tc.retried, retry.Upstream, "%s: %v", tc.name, log)
		}
		t.Logf("%s: %v", tc.name, log)
		r.proxy.Close()
	}
}

// When AWS cannot be reached at all from some request on, the save cannot remove what
// it wrote: its error says so and names each secret or object left (with how to tell
// whether it is the save's), and what is left is a set ListSets shows as incomplete and
// Delete removes.
func TestAWSFaultOutageNamesWhatIsLeft(t *testing.T) {
	t.Parallel()
	fe := newFaultEnv(t)
	ctx := context.Background()
	ks := newKeySet(t, "cut")
	r, err := fe.newRun(0)
	require.NoError(t, err)
	defer r.proxy.Close()
	// The first CreateSecret (SecKey's) goes through; nothing after it does.
	r.proxy.Inject(faultproxy.Fault{Kind: faultproxy.DropRequest, At: 2, Count: -1})
	start := time.Now()
	err = r.st.Save(ctx, ks)
	t.Logf("failed in %s: %v", time.Since(start).Round(time.Millisecond), err)
	require.ErrorIs(t, err, core.ErrRemote)
	sec, meta := r.st.SecretName("cut", core.SecKey), r.st.SecretName("cut", core.MetadataKey)
	for _, want := range []string{
		"Secrets Manager CreateSecret secret " + meta + " failed (no AWS error code",
		"could not remove what the failed save created, remove by hand:",
		"secret " + meta + " if it is this save's (Secrets Manager DescribeSecret:",
		"secret " + sec + " (Secrets Manager DeleteSecret:",
	} {
		require.Contains(t, err.Error(), want)
	}
	require.NotContains(t, err.Error(), "blob.json", "no object was written")

	sets, err := r.direct.ListSets(ctx)
	require.NoError(t, err)
	require.Equal(t, []Listing{{KeyID: "cut", Roles: []core.Role{core.SecKey}}}, sets)
	require.NoError(t, r.direct.Delete(ctx, "cut", DeleteOptions{Immediate: true}))
	require.NoError(t, fe.check(r, ks, errors.New("Secrets Manager CreateSecret secret x/cut/sec_blob (gone)")))
}
