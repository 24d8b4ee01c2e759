package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/require"

	"github.com/envector-keys/envector-keys/core"
	"github.com/envector-keys/envector-keys/internal/heapprobe"
)

const testRegion = "us-east-1"

// awsEnv is one test's AWS store on a fresh bucket, with the real clients it uses, for
// checking what is (not) stored behind the store's back.
type awsEnv struct {
	st     *AWS
	s3     *s3.Client
	sm     *secretsmanager.Client
	bucket string
}

// newAWSEnv resets moto (secrets are per account and region, not per bucket, so each
// test starts from nothing; the AWS tests do not run in parallel), makes a fresh
// bucket and an AWS store on it (prefix DefaultPrefix); edit changes the configuration
// before the store is built.
func newAWSEnv(t testing.TB, edit ...func(*AWSConfig)) *awsEnv {
	t.Helper()
	resetMoto(t)
	ctx := context.Background()
	s3c, smc, err := LoadAWSClients(ctx, testRegion)
	require.NoError(t, err)
	var rnd [6]byte
	rand.Read(rnd[:])
	bucket := "test-" + hex.EncodeToString(rnd[:])
	_, err = s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	require.NoError(t, err)
	cfg := AWSConfig{Region: testRegion, Bucket: bucket, Prefix: DefaultPrefix}
	for _, f := range edit {
		f(&cfg)
	}
	st, err := NewAWS(ctx, cfg)
	require.NoError(t, err)
	return &awsEnv{st: st, s3: s3c, sm: smc, bucket: bucket}
}

// objectExists and secretState ask the real clients directly.
func (e *awsEnv) objectExists(t testing.TB, key string) bool {
	t.Helper()
	_, err := e.s3.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(key)})
	if errorCode(err) == "NotFound" {
		return false
	}
	require.NoError(t, err)
	return true
}

// secretState is "absent", "live" or "scheduled" (for deletion).
func (e *awsEnv) secretState(t testing.TB, name string) string {
	t.Helper()
	d, err := e.sm.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
	if errorCode(err) == "ResourceNotFoundException" {
		return "absent"
	}
	require.NoError(t, err)
	if d.DeletedDate != nil {
		return "scheduled"
	}
	return "live"
}

// requireNothingStored checks with the real clients that no object and no secret of
// keyID exists, scheduled for deletion or not.
func (e *awsEnv) requireNothingStored(t testing.TB, keyID string) {
	t.Helper()
	out, err := e.s3.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(e.bucket)})
	require.NoError(t, err)
	for _, o := range out.Contents {
		require.NotContains(t, aws.ToString(o.Key), "/"+keyID+"/", "object left behind")
	}
	for _, r := range []core.Role{core.SecKey, core.MetadataKey} {
		require.Equal(t, "absent", e.secretState(t, e.st.SecretName(keyID, r)), "secret left behind")
	}
}

func requireSameBlobs(t *testing.T, want, got *core.KeySet) {
	t.Helper()
	require.Equal(t, want.Roles(), got.Roles())
	for _, r := range want.Roles() {
		w, err := want.Blob(r)
		require.NoError(t, err)
		g, err := got.Blob(r)
		require.NoError(t, err)
		require.True(t, bytes.Equal(w, g), "%s changed on the way through the store", r)
	}
}

// keyData returns the base64 key_data of an envelope, to check that messages never
// hold it.
func keyData(t testing.TB, blob []byte) string {
	t.Helper()
	var doc struct {
		Entries []struct {
			KeyData string `json:"key_data"`
		} `json:"entries"`
	}
	require.NoError(t, json.Unmarshal(blob, &doc))
	return doc.Entries[0].KeyData
}

// flipKeyDataBit flips one bit of the decoded key_data of an envelope, digests left
// as they were.
func flipKeyDataBit(t testing.TB, blob []byte) []byte {
	t.Helper()
	old := keyData(t, blob)
	kd, err := base64.StdEncoding.DecodeString(old)
	require.NoError(t, err)
	kd[len(kd)/2] ^= 0x10
	out := bytes.Replace(blob, []byte(old), []byte(base64.StdEncoding.EncodeToString(kd)), 1)
	require.NotEqual(t, blob, out)
	return out
}

func TestAWSSaveLoadRoundTrip(t *testing.T) {
	ctx := context.Background()
	e := newAWSEnv(t)
	ks := newKeySet(t, "k1")
	require.NoError(t, e.st.Save(ctx, ks))

	ok, err := e.st.Exists(ctx, "k1")
	require.NoError(t, err)
	require.True(t, ok)

	got, err := e.st.Load(ctx, "k1")
	require.NoError(t, err)
	requireSameBlobs(t, ks, got)
	_, err = got.Verify(nil)
	require.NoError(t, err)

	// The blobs are where the enVector SDK looks, byte for byte the envelopes.
	for _, r := range []core.Role{core.EncKey, core.EvalKey} {
		out, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("envector/keys/k1/" + r.BlobName() + ".json")})
		require.NoError(t, err)
		data, err := io.ReadAll(out.Body)
		out.Body.Close()
		require.NoError(t, err)
		want, _ := ks.Blob(r)
		require.Equal(t, want, data, r.String())
		require.Equal(t, "application/json", aws.ToString(out.ContentType))
	}
	for _, r := range []core.Role{core.SecKey, core.MetadataKey} {
		out, err := e.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("envector/keys/k1/" + r.BlobName())})
		require.NoError(t, err)
		want, _ := ks.Blob(r)
		require.Equal(t, string(want), aws.ToString(out.SecretString), r.String())
	}

	// A subset loads only what it names, and needs only that.
	pub, err := e.st.Load(ctx, "k1", core.EncKey, core.EvalKey)
	require.NoError(t, err)
	require.Equal(t, []core.Role{core.EncKey, core.EvalKey}, pub.Roles())

	// Saving again is refused and changes nothing.
	err = e.st.Save(ctx, newKeySet(t, "k1"))
	require.ErrorIs(t, err, core.ErrExists)
	require.Contains(t, err.Error(), "envector/keys/k1/sec_blob")
	require.Contains(t, err.Error(), "ResourceExistsException")
	again, err := e.st.Load(ctx, "k1")
	require.NoError(t, err)
	requireSameBlobs(t, ks, again)
	require.ErrorIs(t, e.st.CheckAbsent(ctx, "k1"), core.ErrExists)
	require.NoError(t, e.st.CheckAbsent(ctx, "k2"))
}

func TestAWSNoPrefixAndNoMetadataKey(t *testing.T) {
	ctx := context.Background()
	e := newAWSEnv(t, func(c *AWSConfig) { c.Prefix = "" })
	ks, err := core.Generate(core.GenerateOptions{KeyID: "bare", Parameters: core.Parameters{Preset: core.PresetIP0, EvalMode: core.EvalModeRMP, Dims: []int{32}}, NoMetadataKey: true})
	require.NoError(t, err)
	require.NoError(t, e.st.Save(ctx, ks))
	require.True(t, e.objectExists(t, "bare/enc_blob.json"))
	require.Equal(t, "live", e.secretState(t, "bare/sec_blob"))
	require.Equal(t, "absent", e.secretState(t, "bare/metadata_blob"))
	got, err := e.st.Load(ctx, "bare")
	require.NoError(t, err)
	requireSameBlobs(t, ks, got)
	ids, err := e.st.List(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"bare"}, ids)
	// A stale MetadataKey secret under the id of a key set without one is refused, not
	// mixed in; nothing is left behind.
	_, err = e.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("stale/metadata_blob"), SecretString: aws.String("{}")})
	require.NoError(t, err)
	stale, err := core.Generate(core.GenerateOptions{KeyID: "stale", Parameters: core.Parameters{Preset: core.PresetIP0, EvalMode: core.EvalModeRMP, Dims: []int{32}}, NoMetadataKey: true})
	require.NoError(t, err)
	err = e.st.Save(ctx, stale)
	require.ErrorIs(t, err, core.ErrExists)
	require.Contains(t, err.Error(), `key set "stale" has no MetadataKey but secret stale/metadata_blob exists`)
	require.Equal(t, "absent", e.secretState(t, "stale/sec_blob"))
	require.False(t, e.objectExists(t, "stale/enc_blob.json"))

	// Asking for the MetadataKey it does not have names the secret.
	_, err = e.st.Load(ctx, "bare", core.MetadataKey)
	require.ErrorIs(t, err, core.ErrNotFound)
	require.Contains(t, err.Error(), "secret bare/metadata_blob")
}

func TestAWSConfigRejected(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		cfg  AWSConfig
		want string
	}{
		{AWSConfig{Bucket: DefaultBucket}, "no AWS region given"},
		{AWSConfig{Region: "US East", Bucket: DefaultBucket}, `AWS region "US East" is not accepted`},
		{AWSConfig{Region: testRegion}, "no S3 bucket given"},
		{AWSConfig{Region: testRegion, Bucket: "My_Bucket"}, `S3 bucket name "My_Bucket" is not accepted`},
		{AWSConfig{Region: testRegion, Bucket: DefaultBucket, Prefix: "a//b"}, `prefix "a//b" is not accepted`},
		{AWSConfig{Region: testRegion, Bucket: DefaultBucket, Prefix: "a b"}, `prefix "a b" is not accepted`},
		{AWSConfig{Region: testRegion, Bucket: DefaultBucket, RecoveryWindowDays: 3}, "recovery window of 3 days is not accepted; accepted: 7 to 30 days"},
	} {
		_, err := NewAWS(ctx, tc.cfg)
		require.ErrorIs(t, err, core.ErrInvalidArgument, "%+v", tc.cfg)
		require.Contains(t, err.Error(), tc.want)
	}
	// Slashes around the prefix are ignored.
	st, err := NewAWS(ctx, AWSConfig{Region: testRegion, Bucket: DefaultBucket, Prefix: "/envector/keys/"})
	require.NoError(t, err)
	require.Equal(t, "envector/keys/k/sec_blob", st.SecretName("k", core.SecKey))
	require.Equal(t, "envector/keys/k/eval_blob.json", st.ObjectKey("k", core.EvalKey))

	err = st.Save(ctx, emptyKeySet(t))
	require.ErrorIs(t, err, core.ErrInvalidArgument)
	require.Contains(t, err.Error(), `key set "k" holds no keys`)
	// A bad key id is refused by every method before any call.
	for _, err := range []error{
		func() error { _, err := st.Load(ctx, "../x"); return err }(),
		func() error { _, err := st.Exists(ctx, "../x"); return err }(),
		st.Delete(ctx, "../x", DeleteOptions{}),
		st.CheckAbsent(ctx, "a/b"),
	} {
		require.ErrorIs(t, err, core.ErrInvalidArgument)
		require.Contains(t, err.Error(), "is not accepted")
	}
}

// emptyKeySet returns a key set with no roles (a Subset of nothing).
func emptyKeySet(t *testing.T) *core.KeySet {
	ks, err := newKeySet(t, "k").Subset()
	require.NoError(t, err)
	return ks
}

// A missing bucket fails clearly, naming the bucket, and leaves no secret behind.
func TestAWSBucketMissing(t *testing.T) {
	ctx := context.Background()
	e := newAWSEnv(t, func(c *AWSConfig) { c.Bucket = "no-such-bucket-envector" })
	err := e.st.Save(ctx, newKeySet(t, "k"))
	require.ErrorIs(t, err, core.ErrNotFound)
	require.Contains(t, err.Error(), `bucket "no-such-bucket-envector" does not exist`)
	require.Contains(t, err.Error(), "NoSuchBucket")
	e.requireNothingStored(t, "k")

	_, err = e.st.Load(ctx, "k")
	require.ErrorIs(t, err, core.ErrNotFound)
	require.Contains(t, err.Error(), `bucket "no-such-bucket-envector" does not exist`)
	_, err = e.st.List(ctx)
	require.ErrorIs(t, err, core.ErrNotFound)
	require.Contains(t, err.Error(), "no-such-bucket-envector")
	_, err = e.st.Exists(ctx, "k")
	require.ErrorIs(t, err, core.ErrNotFound)
}

// faultS3 wraps the real S3 client; putObject, when set, replaces PutObject; the first
// headFails calls of HeadObject fail with an error of no AWS error code.
type faultS3 struct {
	S3API
	putObject func(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	headFails atomic.Int32
}

func (f *faultS3) HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	if f.headFails.Add(-1) >= 0 {
		return nil, errors.New("connection reset by peer (injected into HeadObject)")
	}
	return f.S3API.HeadObject(ctx, in, optFns...)
}

func (f *faultS3) PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if f.putObject != nil {
		return f.putObject(ctx, in, optFns...)
	}
	return f.S3API.PutObject(ctx, in, optFns...)
}

// A failure after the secrets were created removes everything this save created.
func TestAWSFailureAfterSecretsLeavesNothing(t *testing.T) {
	cases := []struct {
		name      string
		kind      core.Kind
		want      string
		headFails int32
		evalFail  func(ctx context.Context, real S3API, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	}{
		{"refused", core.ErrRemote, "(InjectedFault)", 0, func(ctx context.Context, real S3API, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
			return nil, &smithy.GenericAPIError{Code: "InjectedFault", Message: "injected by the test"}
		}},
		// The object is written but the answer is lost, and asking whether it is this
		// save's fails too: the rollback finds it by the save's token.
		{"answer lost, HeadObject failing", core.ErrRemote, "S3 HeadObject, asked whether this save made the object, failed too", 1, func(ctx context.Context, real S3API, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
			if _, err := real.PutObject(ctx, in, optFns...); err != nil {
				return nil, err
			}
			return nil, errors.New("connection reset by peer (injected)")
		}},
		// The caller gives up: cleanup still runs.
		{"cancelled", core.ErrRemote, "context canceled", 0, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			e := newAWSEnv(t)
			real := e.st.s3
			var evalCalls atomic.Int32
			var secretsSeen sync.Map // role -> whether its secret existed when eval_blob was put
			fs := &faultS3{S3API: real}
			fs.headFails.Store(tc.headFails)
			e.st.s3 = fs
			fs.putObject = func(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
				if !strings.HasSuffix(aws.ToString(in.Key), "/eval_blob.json") {
					return real.PutObject(ctx, in, optFns...)
				}
				evalCalls.Add(1)
				for _, r := range []core.Role{core.SecKey, core.MetadataKey} {
					_, err := e.sm.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(e.st.SecretName("k", r))})
					secretsSeen.Store(r, err == nil)
				}
				if tc.evalFail == nil {
					cancel()
					return real.PutObject(ctx, in, optFns...)
				}
				return tc.evalFail(ctx, real, in, optFns...)
			}
			ks := newKeySet(t, "k")
			err := e.st.Save(ctx, ks)
			require.Error(t, err)
			require.Equal(t, tc.kind, core.KindOf(err), "%v", err)
			require.Contains(t, err.Error(), tc.want)
			require.Contains(t, err.Error(), "s3://"+e.bucket+"/envector/keys/k/eval_blob.json")
			require.Equal(t, int32(1), evalCalls.Load())
			for _, r := range []core.Role{core.SecKey, core.MetadataKey} {
				seen, _ := secretsSeen.Load(r)
				require.Equal(t, true, seen, "the %s secret was not there when eval_blob was put", r)
			}
			for _, r := range []core.Role{core.SecKey, core.MetadataKey} {
				blob, _ := ks.Blob(r)
				require.NotContains(t, err.Error(), keyData(t, blob), "the error holds key material")
			}
			e.requireNothingStored(t, "k")

			// The names are free again.
			e.st.s3 = real
			require.NoError(t, e.st.Save(context.Background(), ks))
		})
	}
}

// faultSM wraps the real Secrets Manager client; createSecret, when set, replaces
// CreateSecret.
type faultSM struct {
	SecretsAPI
	createSecret func(ctx context.Context, in *secretsmanager.CreateSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
}

func (f *faultSM) CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error) {
	if f.createSecret != nil {
		return f.createSecret(ctx, in, optFns...)
	}
	return f.SecretsAPI.CreateSecret(ctx, in, optFns...)
}

// A call carried out whose answer is lost, or whose retry is refused because the first
// attempt succeeded, is recognised by the save's token: the save succeeds, and its
// object or secret is not taken for someone else's. (TestAWSFaultLostAnswer does the
// same through a proxy, with the SDK's own retries.)
func TestAWSOwnWriteRecognised(t *testing.T) {
	conflict := func(code string) error { return &smithy.GenericAPIError{Code: code, Message: "injected by the test"} }
	cases := []struct {
		name string
		set  func(fs *faultS3, fsm *faultSM)
	}{
		{"PutObject answer lost", func(fs *faultS3, _ *faultSM) {
			fs.putObject = func(ctx context.Context, in *s3.PutObjectInput, o ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
				if _, err := fs.S3API.PutObject(ctx, in, o...); err != nil {
					return nil, err
				}
				return nil, errors.New("connection reset by peer (injected)")
			}
		}},
		{"PutObject retry refused", func(fs *faultS3, _ *faultSM) {
			fs.putObject = func(ctx context.Context, in *s3.PutObjectInput, o ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
				body, _ := io.ReadAll(in.Body)
				in.Body = bytes.NewReader(body)
				if _, err := fs.S3API.PutObject(ctx, in, o...); err != nil {
					return nil, err
				}
				in.Body = bytes.NewReader(body)
				out, err := fs.S3API.PutObject(ctx, in, o...) // the retry: 412 from moto
				require.Equal(t, "PreconditionFailed", errorCode(err))
				return out, err
			}
		}},
		{"CreateSecret retry refused", func(_ *faultS3, fsm *faultSM) {
			fsm.createSecret = func(ctx context.Context, in *secretsmanager.CreateSecretInput, o ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error) {
				if _, err := fsm.SecretsAPI.CreateSecret(ctx, in, o...); err != nil {
					return nil, err
				}
				return nil, conflict("ResourceExistsException")
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			e := newAWSEnv(t)
			fs, fsm := &faultS3{S3API: e.st.s3}, &faultSM{SecretsAPI: e.st.sm}
			e.st.s3, e.st.sm = fs, fsm
			tc.set(fs, fsm)
			ks := newKeySet(t, "k")
			require.NoError(t, e.st.Save(ctx, ks))
			got, err := e.st.Load(ctx, "k")
			require.NoError(t, err)
			requireSameBlobs(t, ks, got)
			sets, err := e.st.ListSets(ctx)
			require.NoError(t, err)
			require.Equal(t, []Listing{{KeyID: "k", Roles: core.AllRoles, Complete: true}}, sets)
			// The objects carry the save's token, which is the secrets' version id.
			h, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("envector/keys/k/eval_blob.json")})
			require.NoError(t, err)
			token := h.Metadata[saveTokenKey]
			require.Len(t, token, 32)
			d, err := e.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("envector/keys/k/sec_blob")})
			require.NoError(t, err)
			require.Contains(t, d.VersionIdsToStages, token)
		})
	}

	// Someone else's object or secret is still refused, and left as it was.
	t.Run("someone else's object", func(t *testing.T) {
		ctx := context.Background()
		e := newAWSEnv(t)
		_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("envector/keys/k/eval_blob.json"), Body: strings.NewReader("old")})
		require.NoError(t, err)
		err = e.st.Save(ctx, newKeySet(t, "k"))
		require.ErrorIs(t, err, core.ErrExists)
		require.Contains(t, err.Error(), "S3 PutObject s3://"+e.bucket+"/envector/keys/k/eval_blob.json: already exists (PreconditionFailed)")
		for _, r := range []core.Role{core.SecKey, core.MetadataKey} {
			require.Equal(t, "absent", e.secretState(t, e.st.SecretName("k", r)))
		}
		require.False(t, e.objectExists(t, "envector/keys/k/enc_blob.json"))
		out, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("envector/keys/k/eval_blob.json")})
		require.NoError(t, err)
		old, _ := io.ReadAll(out.Body)
		out.Body.Close()
		require.Equal(t, "old", string(old))
	})
	t.Run("someone else's secret, answer lost", func(t *testing.T) {
		// The name is taken by a secret of another version: ResourceExistsException
		// after a lost answer is not taken for success.
		ctx := context.Background()
		e := newAWSEnv(t)
		_, err := e.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("envector/keys/k/metadata_blob"), SecretString: aws.String("{}")})
		require.NoError(t, err)
		err = e.st.Save(ctx, newKeySet(t, "k"))
		require.ErrorIs(t, err, core.ErrExists)
		require.Contains(t, err.Error(), "secret envector/keys/k/metadata_blob already exists")
		require.Equal(t, "absent", e.secretState(t, "envector/keys/k/sec_blob"))
		require.Equal(t, "live", e.secretState(t, "envector/keys/k/metadata_blob"))
	})
}

// Saves of one key id at once: exactly one wins, the others get ErrExists, and the
// winner's keys load and verify.
func TestAWSConcurrentSaves(t *testing.T) {
	ctx := context.Background()
	e := newAWSEnv(t)
	const n = 4
	sets := make([]*core.KeySet, n)
	for i := range sets {
		sets[i] = newKeySet(t, "race")
	}
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range sets {
		wg.Go(func() {
			<-start
			errs[i] = e.st.Save(ctx, sets[i])
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, winner, "two saves won")
			winner = i
		} else {
			require.ErrorIs(t, err, core.ErrExists)
		}
	}
	require.NotEqual(t, -1, winner, "no save won: %v", errs)
	got, err := e.st.Load(ctx, "race")
	require.NoError(t, err)
	requireSameBlobs(t, sets[winner], got)
	_, err = got.Verify(nil)
	require.NoError(t, err)
}

func TestAWSLoadMissing(t *testing.T) {
	ctx := context.Background()
	e := newAWSEnv(t)
	_, err := e.st.Load(ctx, "nope")
	require.ErrorIs(t, err, core.ErrNotFound)
	for _, want := range []string{
		`key set "nope" is incomplete or absent`,
		"secret envector/keys/nope/sec_blob",
		"object s3://" + e.bucket + "/envector/keys/nope/enc_blob.json",
		"object s3://" + e.bucket + "/envector/keys/nope/eval_blob.json",
	} {
		require.Contains(t, err.Error(), want)
	}
	require.NotContains(t, err.Error(), "metadata_blob", "MetadataKey is optional")
	ok, err := e.st.Exists(ctx, "nope")
	require.NoError(t, err)
	require.False(t, ok)
	err = e.st.Delete(ctx, "nope", DeleteOptions{})
	require.ErrorIs(t, err, core.ErrNotFound)
	require.Contains(t, err.Error(), `no key set "nope"`)

	// One piece gone: only it is named, and the key set is no longer complete.
	require.NoError(t, e.st.Save(ctx, newKeySet(t, "k")))
	_, err = e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("envector/keys/k/eval_blob.json")})
	require.NoError(t, err)
	_, err = e.st.Load(ctx, "k")
	require.ErrorIs(t, err, core.ErrNotFound)
	require.Contains(t, err.Error(), "missing object s3://"+e.bucket+"/envector/keys/k/eval_blob.json")
	require.NotContains(t, err.Error(), "sec_blob")
	ok, err = e.st.Exists(ctx, "k")
	require.NoError(t, err)
	require.False(t, ok)
	_, err = e.st.Load(ctx, "k", core.SecKey, core.EncKey)
	require.NoError(t, err)
	// A save onto the partial key set is refused (the secrets exist) and changes nothing.
	require.ErrorIs(t, e.st.Save(ctx, newKeySet(t, "k")), core.ErrExists)
	require.False(t, e.objectExists(t, "envector/keys/k/eval_blob.json"))
}

// A blob altered in the store is detected on load.
func TestAWSTamperedBlob(t *testing.T) {
	ctx := context.Background()
	e := newAWSEnv(t)
	ks := newKeySet(t, "k")
	require.NoError(t, e.st.Save(ctx, ks))

	eval, _ := ks.Blob(core.EvalKey)
	_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("envector/keys/k/eval_blob.json"), Body: bytes.NewReader(flipKeyDataBit(t, eval))})
	require.NoError(t, err)
	_, err = e.st.Load(ctx, "k")
	require.ErrorIs(t, err, core.ErrCorrupt)
	require.Contains(t, err.Error(), "EvalKey")
	_, err = e.st.Load(ctx, "k", core.SecKey)
	require.NoError(t, err, "the untouched roles still load")

	sec, _ := ks.Blob(core.SecKey)
	_, err = e.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("envector/keys/k/sec_blob"), SecretString: aws.String(string(flipKeyDataBit(t, sec)))})
	require.NoError(t, err)
	_, err = e.st.Load(ctx, "k", core.SecKey)
	require.ErrorIs(t, err, core.ErrCorrupt)
	require.Contains(t, err.Error(), "SecKey")
	require.NotContains(t, err.Error(), keyData(t, sec))

	// A blob of another key id is refused too.
	other, _ := newKeySet(t, "other").Blob(core.EncKey)
	_, err = e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("envector/keys/k/enc_blob.json"), Body: bytes.NewReader(other)})
	require.NoError(t, err)
	_, err = e.st.Load(ctx, "k", core.EncKey)
	require.ErrorIs(t, err, core.ErrCorrupt)
}

// A sealed key set goes through the store sealed, and unseals only with its KEK.
func TestAWSSealed(t *testing.T) {
	ctx := context.Background()
	e := newAWSEnv(t)
	plain := newKeySet(t, "sealed")
	kek, err := core.GenerateKEK()
	require.NoError(t, err)
	sealed, err := plain.Seal(kek)
	require.NoError(t, err)
	require.NoError(t, e.st.Save(ctx, sealed))

	// What Secrets Manager holds is the sealed envelope, not the secret.
	out, err := e.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("envector/keys/sealed/sec_blob")})
	require.NoError(t, err)
	plainSec, _ := plain.Blob(core.SecKey)
	require.NotContains(t, aws.ToString(out.SecretString), keyData(t, plainSec))
	require.Contains(t, aws.ToString(out.SecretString), `"alg":"AES-KEK"`)

	got, err := e.st.Load(ctx, "sealed")
	require.NoError(t, err)
	require.True(t, got.Sealed())
	requireSameBlobs(t, sealed, got)
	unsealed, err := got.Unseal(kek)
	require.NoError(t, err)
	requireSameBlobs(t, plain, unsealed)
	_, err = got.Verify(kek)
	require.NoError(t, err)

	wrong, err := core.GenerateKEK()
	require.NoError(t, err)
	_, err = got.Unseal(wrong)
	require.ErrorIs(t, err, core.ErrAuth)
	require.Contains(t, err.Error(), `"sealed"`)
	_, err = got.Verify(wrong)
	require.ErrorIs(t, err, core.ErrAuth)
}

// countingS3 and countingSM count calls and forward them.
type countingS3 struct {
	S3API
	n *atomic.Int32
}

func (c countingS3) PutObject(ctx context.Context, in *s3.PutObjectInput, o ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	c.n.Add(1)
	return c.S3API.PutObject(ctx, in, o...)
}
func (c countingS3) GetObject(ctx context.Context, in *s3.GetObjectInput, o ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	c.n.Add(1)
	return c.S3API.GetObject(ctx, in, o...)
}
func (c countingS3) HeadObject(ctx context.Context, in *s3.HeadObjectInput, o ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	c.n.Add(1)
	return c.S3API.HeadObject(ctx, in, o...)
}
func (c countingS3) DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, o ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	c.n.Add(1)
	return c.S3API.DeleteObject(ctx, in, o...)
}
func (c countingS3) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, o ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	c.n.Add(1)
	return c.S3API.ListObjectsV2(ctx, in, o...)
}

type countingSM struct {
	SecretsAPI
	n *atomic.Int32
}

func (c countingSM) CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, o ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error) {
	c.n.Add(1)
	return c.SecretsAPI.CreateSecret(ctx, in, o...)
}
func (c countingSM) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, o ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	c.n.Add(1)
	return c.SecretsAPI.GetSecretValue(ctx, in, o...)
}
func (c countingSM) DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, o ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	c.n.Add(1)
	return c.SecretsAPI.DescribeSecret(ctx, in, o...)
}
func (c countingSM) DeleteSecret(ctx context.Context, in *secretsmanager.DeleteSecretInput, o ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error) {
	c.n.Add(1)
	return c.SecretsAPI.DeleteSecret(ctx, in, o...)
}

// A secret envelope over 64 KiB is refused before any call to AWS.
func TestAWSSecretTooLarge(t *testing.T) {
	ctx := context.Background()
	e := newAWSEnv(t)
	var calls atomic.Int32
	e.st.s3 = countingS3{e.st.s3, &calls}
	e.st.sm = countingSM{e.st.sm, &calls}
	// A requester name of 70,000 characters makes every envelope too big for a secret.
	ks, err := core.Generate(core.GenerateOptions{KeyID: "big", Parameters: core.Parameters{Preset: core.PresetIP0, EvalMode: core.EvalModeRMP, Dims: []int{32}},
		Requester: core.Requester{Entity: strings.Repeat("x", 70000), Method: "sdk", Type: "user"}})
	require.NoError(t, err)
	sec, _ := ks.Blob(core.SecKey)
	require.Greater(t, len(sec), MaxSecretSize)
	err = e.st.Save(ctx, ks)
	require.ErrorIs(t, err, core.ErrInvalidArgument)
	require.Contains(t, err.Error(), "a Secrets Manager secret holds at most 65536 bytes, so nothing was sent")
	require.Equal(t, int32(0), calls.Load(), "calls made to AWS")

	// The counting wrappers do forward: a normal key set goes through.
	require.NoError(t, e.st.Save(ctx, newKeySet(t, "small")))
	require.Greater(t, calls.Load(), int32(0))
}

// Deleting with the recovery window keeps the secret names taken: a save onto them
// says so. An immediate delete frees them.
func TestAWSDeleteRecoveryWindow(t *testing.T) {
	ctx := context.Background()
	e := newAWSEnv(t)
	require.NoError(t, e.st.Save(ctx, newKeySet(t, "k")))
	before := time.Now()
	require.NoError(t, e.st.Delete(ctx, "k", DeleteOptions{}))

	require.False(t, e.objectExists(t, "envector/keys/k/enc_blob.json"))
	require.False(t, e.objectExists(t, "envector/keys/k/eval_blob.json"))
	d, err := e.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("envector/keys/k/sec_blob")})
	require.NoError(t, err)
	require.NotNil(t, d.DeletedDate)
	require.WithinDuration(t, before.Add(DefaultRecoveryWindowDays*24*time.Hour), *d.DeletedDate, time.Hour)
	require.Equal(t, "scheduled", e.secretState(t, "envector/keys/k/metadata_blob"))

	ok, err := e.st.Exists(ctx, "k")
	require.NoError(t, err)
	require.False(t, ok)
	_, err = e.st.Load(ctx, "k", core.SecKey)
	require.ErrorIs(t, err, core.ErrNotFound)
	require.Contains(t, err.Error(), "envector/keys/k/sec_blob (scheduled for deletion on ")

	for _, err := range []error{e.st.Save(ctx, newKeySet(t, "k")), e.st.CheckAbsent(ctx, "k")} {
		require.ErrorIs(t, err, core.ErrExists)
		require.Contains(t, err.Error(), "secret envector/keys/k/sec_blob of key set \"k\" is scheduled for deletion")
		require.Contains(t, err.Error(), "cannot be reused until then")
		require.Contains(t, err.Error(), "--immediate")
	}
	require.False(t, e.objectExists(t, "envector/keys/k/enc_blob.json"), "the refused save wrote nothing")

	// Deleting again without --immediate has nothing to do and says why.
	err = e.st.Delete(ctx, "k", DeleteOptions{})
	require.ErrorIs(t, err, core.ErrNotFound)
	require.Contains(t, err.Error(), "already deleted: its secrets are scheduled for deletion")
	// An immediate delete removes the scheduled secrets, and the name is free again.
	require.NoError(t, e.st.Delete(ctx, "k", DeleteOptions{Immediate: true}))
	e.requireNothingStored(t, "k")
	ks := newKeySet(t, "k")
	require.NoError(t, e.st.Save(ctx, ks))
	got, err := e.st.Load(ctx, "k")
	require.NoError(t, err)
	requireSameBlobs(t, ks, got)
}

func TestAWSDeleteImmediate(t *testing.T) {
	ctx := context.Background()
	e := newAWSEnv(t, func(c *AWSConfig) { c.RecoveryWindowDays = 30 })
	require.NoError(t, e.st.Save(ctx, newKeySet(t, "k")))
	require.NoError(t, e.st.Delete(ctx, "k", DeleteOptions{Immediate: true}))
	e.requireNothingStored(t, "k")
	err := e.st.Delete(ctx, "k", DeleteOptions{Immediate: true})
	require.ErrorIs(t, err, core.ErrNotFound)

	ks := newKeySet(t, "k")
	require.NoError(t, e.st.Save(ctx, ks))
	got, err := e.st.Load(ctx, "k")
	require.NoError(t, err)
	requireSameBlobs(t, ks, got)

	// The configured recovery window is used.
	require.NoError(t, e.st.Delete(ctx, "k", DeleteOptions{}))
	d, err := e.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("envector/keys/k/sec_blob")})
	require.NoError(t, err)
	require.WithinDuration(t, time.Now().Add(30*24*time.Hour), *d.DeletedDate, time.Hour)
}

func TestAWSList(t *testing.T) {
	ctx := context.Background()
	e := newAWSEnv(t)
	ids, err := e.st.List(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{}, ids)

	for _, id := range []string{"c", "a", "b.2"} {
		require.NoError(t, e.st.Save(ctx, newKeySet(t, id)))
	}
	// Other prefixes and stray objects are not key sets of this store.
	other, err := NewAWS(ctx, AWSConfig{Region: testRegion, Bucket: e.bucket, Prefix: "other"})
	require.NoError(t, err)
	require.NoError(t, other.Save(ctx, newKeySet(t, "z")))
	for _, key := range []string{"envector/keys/stray.txt", "envector/keys/d/notes.txt", "envector/keys/e/f/enc_blob.json"} {
		_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(key), Body: strings.NewReader("x")})
		require.NoError(t, err)
	}
	ids, err = e.st.List(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b.2", "c"}, ids)
	ids, err = other.List(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"z"}, ids)

	require.NoError(t, e.st.Delete(ctx, "b.2", DeleteOptions{}))
	ids, err = e.st.List(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"a", "c"}, ids)
}

// ListSets finds key ids from the objects and from the secrets: a set with only its
// secrets (a save killed after creating them) or only one object is listed as
// incomplete; List returns the same ids; Delete removes an incomplete set fully.
func TestAWSListSets(t *testing.T) {
	ctx := context.Background()
	e := newAWSEnv(t)
	sets, err := e.st.ListSets(ctx)
	require.NoError(t, err)
	require.Equal(t, []Listing{}, sets)

	full := newKeySet(t, "full")
	require.NoError(t, e.st.Save(ctx, full))
	noMeta, err := core.Generate(core.GenerateOptions{KeyID: "nometa", Parameters: core.Parameters{Preset: core.PresetIP0, EvalMode: core.EvalModeRMP, Dims: []int{32}}, NoMetadataKey: true})
	require.NoError(t, err)
	require.NoError(t, e.st.Save(ctx, noMeta))
	// What a save killed between its secrets and its objects leaves, and a set that
	// lost objects.
	for _, r := range []core.Role{core.SecKey, core.MetadataKey} {
		blob, _ := full.Blob(r)
		_, err := e.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(e.st.SecretName("secrets", r)), SecretString: aws.String(string(blob))})
		require.NoError(t, err)
	}
	enc, _ := full.Blob(core.EncKey)
	_, err = e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(e.st.ObjectKey("oneobj", core.EncKey)), Body: bytes.NewReader(enc)})
	require.NoError(t, err)
	// Deleted (its secrets scheduled for deletion): not listed.
	require.NoError(t, e.st.Save(ctx, newKeySet(t, "gone")))
	require.NoError(t, e.st.Delete(ctx, "gone", DeleteOptions{}))
	// Not key sets of this store: other names, another prefix, the prefix in another
	// case (Secrets Manager's name filter ignores case).
	for _, name := range []string{"envector/keys/x/notes", "envector/keys/y/z/sec_blob", "other/k/sec_blob", "ENVECTOR/keys/w/sec_blob", "envector/keysx/v/sec_blob"} {
		_, err := e.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("{}")})
		require.NoError(t, err)
	}
	for _, key := range []string{"envector/keys/stray.txt", "envector/keys/d/notes.txt", "envector/keys/e/f/enc_blob.json", "other/k/enc_blob.json"} {
		_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(key), Body: strings.NewReader("x")})
		require.NoError(t, err)
	}

	want := []Listing{
		{KeyID: "full", Roles: []core.Role{core.SecKey, core.EncKey, core.EvalKey, core.MetadataKey}, Complete: true},
		{KeyID: "nometa", Roles: []core.Role{core.SecKey, core.EncKey, core.EvalKey}, Complete: true},
		{KeyID: "oneobj", Roles: []core.Role{core.EncKey}},
		{KeyID: "secrets", Roles: []core.Role{core.SecKey, core.MetadataKey}},
	}
	sets, err = e.st.ListSets(ctx)
	require.NoError(t, err)
	require.Equal(t, want, sets)
	ids, err := e.st.List(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"full", "nometa", "oneobj", "secrets"}, ids)

	// An incomplete set is deleted fully: immediately, or with its secrets scheduled
	// for deletion (then it is no longer listed, and its names stay taken).
	require.NoError(t, e.st.Delete(ctx, "secrets", DeleteOptions{Immediate: true}))
	e.requireNothingStored(t, "secrets")
	require.NoError(t, e.st.Delete(ctx, "oneobj", DeleteOptions{}))
	e.requireNothingStored(t, "oneobj")
	_, err = e.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(e.st.SecretName("halfsec", core.SecKey)), SecretString: aws.String("{}")})
	require.NoError(t, err)
	require.NoError(t, e.st.Delete(ctx, "halfsec", DeleteOptions{}))
	require.Equal(t, "scheduled", e.secretState(t, e.st.SecretName("halfsec", core.SecKey)))
	sets, err = e.st.ListSets(ctx)
	require.NoError(t, err)
	require.Equal(t, want[:2], sets)
	// The key ids are free again (those deleted immediately).
	for _, id := range []string{"secrets", "oneobj"} {
		require.NoError(t, e.st.CheckAbsent(ctx, id))
	}

	// With no prefix, only top-level key sets are listed: the ones above are not.
	bare, err := NewAWS(ctx, AWSConfig{Region: testRegion, Bucket: e.bucket, Prefix: ""})
	require.NoError(t, err)
	require.NoError(t, bare.Save(ctx, newKeySet(t, "top")))
	sets, err = bare.ListSets(ctx)
	require.NoError(t, err)
	require.Equal(t, []Listing{{KeyID: "top", Roles: core.AllRoles, Complete: true}}, sets)
}

// More key sets than one page of ListSecrets (100) and of ListObjectsV2 (1000 keys,
// with two objects a set: 500 sets) are all listed.
func TestAWSListSetsPages(t *testing.T) {
	if testing.Short() {
		t.Skip("creates 520 secrets and 1040 objects in moto")
	}
	ctx := context.Background()
	e := newAWSEnv(t)
	const n = 520
	var wg sync.WaitGroup
	errs := make([]error, n)
	sem := make(chan struct{}, 16)
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			id := fmt.Sprintf("k%03d", i)
			if _, err := e.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(e.st.SecretName(id, core.SecKey)), SecretString: aws.String("{}")}); err != nil {
				errs[i] = err
				return
			}
			for _, r := range []core.Role{core.EncKey, core.EvalKey} {
				if _, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(e.st.ObjectKey(id, r)), Body: strings.NewReader("{}")}); err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	sets, err := e.st.ListSets(ctx)
	require.NoError(t, err)
	require.Len(t, sets, n)
	for i, s := range sets {
		require.Equal(t, Listing{KeyID: fmt.Sprintf("k%03d", i), Roles: core.RequiredRoles, Complete: true}, s)
	}
}

// The endpoints come from the SDK's own per-service variables, which win over
// AWS_ENDPOINT_URL; S3 is then addressed path-style (a host name of bucket.127.0.0.1
// would not resolve).
func TestAWSEndpointVariables(t *testing.T) {
	url := needMoto(t)
	e := newAWSEnv(t)
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	t.Setenv("AWS_ENDPOINT_URL_S3", url)
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", url)
	ctx := context.Background()
	st, err := NewAWS(ctx, AWSConfig{Region: testRegion, Bucket: e.bucket, Prefix: DefaultPrefix})
	require.NoError(t, err)
	ks := newKeySet(t, "k")
	require.NoError(t, st.Save(ctx, ks))
	got, err := st.Load(ctx, "k")
	require.NoError(t, err)
	requireSameBlobs(t, ks, got)

	// With only the general variable pointing nowhere, calls fail as remote errors.
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", "")
	st, err = NewAWS(ctx, AWSConfig{Region: testRegion, Bucket: e.bucket, Prefix: DefaultPrefix})
	require.NoError(t, err)
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	_, err = st.Exists(cctx, "k")
	require.ErrorIs(t, err, core.ErrRemote)
	require.Contains(t, err.Error(), "no AWS error code")
}

// Without credentials every call fails with ErrAuth saying so.
func TestAWSNoCredentials(t *testing.T) {
	e := newAWSEnv(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := NewAWS(ctx, AWSConfig{Region: testRegion, Bucket: e.bucket, Prefix: DefaultPrefix})
	require.NoError(t, err)
	_, err = st.Load(ctx, "k")
	require.ErrorIs(t, err, core.ErrAuth)
	require.Contains(t, err.Error(), "no usable AWS credentials")
}

// multipartS3 wraps the real S3 client, counting what a save sends; uploadPart and
// complete, when set, replace UploadPart and CompleteMultipartUpload; the first
// headFails calls of HeadObject fail with an error of no AWS error code.
type multipartS3 struct {
	S3API
	puts, parts atomic.Int32
	uploadPart  func(ctx context.Context, in *s3.UploadPartInput, optFns ...func(*s3.Options)) (*s3.UploadPartOutput, error)
	complete    func(ctx context.Context, in *s3.CompleteMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	headFails   atomic.Int32
}

func (m *multipartS3) HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	if m.headFails.Add(-1) >= 0 {
		return nil, errors.New("connection reset by peer (injected into HeadObject)")
	}
	return m.S3API.HeadObject(ctx, in, optFns...)
}

func (m *multipartS3) PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	m.puts.Add(1)
	return m.S3API.PutObject(ctx, in, optFns...)
}

func (m *multipartS3) UploadPart(ctx context.Context, in *s3.UploadPartInput, optFns ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	m.parts.Add(1)
	if m.uploadPart != nil {
		return m.uploadPart(ctx, in, optFns...)
	}
	return m.S3API.UploadPart(ctx, in, optFns...)
}

func (m *multipartS3) CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
	if m.complete != nil {
		return m.complete(ctx, in, optFns...)
	}
	return m.S3API.CompleteMultipartUpload(ctx, in, optFns...)
}

// requireNoUploads checks with the real client that no multipart upload is pending in
// the bucket.
func (e *awsEnv) requireNoUploads(t testing.TB) {
	t.Helper()
	out, err := e.s3.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(e.bucket)})
	require.NoError(t, err)
	require.Empty(t, out.Uploads, "multipart upload left pending")
}

// multipartEnv is newAWSEnv with objects over 1 MiB sent in parts of 5 MiB (S3's
// smallest) through a multipartS3 wrapper.
func multipartEnv(t *testing.T) (*awsEnv, *multipartS3) {
	e := newAWSEnv(t)
	e.st.multipartThreshold, e.st.partSize = 1<<20, 5<<20
	m := &multipartS3{S3API: e.st.s3}
	e.st.s3 = m
	return e, m
}

// defaultRMPKeySet is the ip0/rmp key set of dims 32..4096: its EvalKey envelope is
// 14.2 MB, three parts of 5 MiB.
func defaultRMPKeySet(t *testing.T, id string) *core.KeySet {
	t.Helper()
	ks, err := core.Generate(core.GenerateOptions{KeyID: id, Parameters: core.Parameters{Preset: core.PresetIP0, EvalMode: core.EvalModeRMP}})
	require.NoError(t, err)
	return ks
}

// An EvalKey over the threshold goes up in parts and comes back byte for byte; the
// small EncKey still goes up in one PutObject.
func TestAWSMultipartRoundTrip(t *testing.T) {
	ctx := context.Background()
	e, m := multipartEnv(t)
	ks := defaultRMPKeySet(t, "mp")
	size, err := ks.BlobSize(core.EvalKey)
	require.NoError(t, err)
	require.Greater(t, size, int64(10<<20))
	require.NoError(t, e.st.Save(ctx, ks))
	require.Equal(t, int32(3), m.parts.Load(), "EvalKey parts")
	require.Equal(t, int32(1), m.puts.Load(), "EncKey in one PutObject")
	e.requireNoUploads(t)

	got, err := e.st.Load(ctx, "mp")
	require.NoError(t, err)
	requireSameBlobs(t, ks, got)
	_, err = got.Verify(nil)
	require.NoError(t, err)

	// The object is the envelope as the local file holds it, made of 3 parts.
	out, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("envector/keys/mp/eval_blob.json")})
	require.NoError(t, err)
	data, err := io.ReadAll(out.Body)
	out.Body.Close()
	require.NoError(t, err)
	want, _ := ks.Blob(core.EvalKey)
	require.True(t, bytes.Equal(want, data))
	require.Equal(t, "application/json", aws.ToString(out.ContentType))
	require.True(t, strings.HasSuffix(aws.ToString(out.ETag), `-3"`), "ETag %s", aws.ToString(out.ETag))

	// Saving again is refused before any part is sent (the secrets are the lock).
	m.parts.Store(0)
	err = e.st.Save(ctx, defaultRMPKeySet(t, "mp"))
	require.ErrorIs(t, err, core.ErrExists)
	require.Equal(t, int32(0), m.parts.Load())
	e.requireNoUploads(t)
}

// A failure in the middle of a multipart upload, or at its end, leaves no object, no
// secret and no pending upload; the names are free again afterwards.
func TestAWSMultipartFailureLeavesNothing(t *testing.T) {
	injected := &smithy.GenericAPIError{Code: "InjectedFault", Message: "injected by the test"}
	cases := []struct {
		name string
		kind core.Kind
		want []string
		// set installs the fault; cancel cancels the save's context.
		set func(e *awsEnv, m *multipartS3, cancel context.CancelFunc)
	}{
		{"part 2 refused", core.ErrRemote, []string{"S3 UploadPart (part 2)", "(InjectedFault)"}, func(e *awsEnv, m *multipartS3, _ context.CancelFunc) {
			m.uploadPart = func(ctx context.Context, in *s3.UploadPartInput, optFns ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
				if aws.ToInt32(in.PartNumber) == 2 {
					return nil, injected
				}
				return m.S3API.UploadPart(ctx, in, optFns...)
			}
		}},
		{"cancelled during part 2", core.ErrRemote, []string{"S3 UploadPart", "context canceled"}, func(e *awsEnv, m *multipartS3, cancel context.CancelFunc) {
			m.uploadPart = func(ctx context.Context, in *s3.UploadPartInput, optFns ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
				if aws.ToInt32(in.PartNumber) == 2 {
					cancel()
				}
				return m.S3API.UploadPart(ctx, in, optFns...)
			}
		}},
		{"complete refused", core.ErrRemote, []string{"S3 CompleteMultipartUpload", "(InjectedFault)"}, func(e *awsEnv, m *multipartS3, _ context.CancelFunc) {
			m.complete = func(ctx context.Context, in *s3.CompleteMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
				return nil, injected
			}
		}},
		// The object is made but the answer is lost, and asking whether it is this
		// save's fails too: the rollback finds it by the save's token and removes it.
		{"complete answer lost, HeadObject failing", core.ErrRemote, []string{"S3 CompleteMultipartUpload", "no AWS error code", "S3 HeadObject, asked whether this save made the object, failed too"}, func(e *awsEnv, m *multipartS3, _ context.CancelFunc) {
			m.headFails.Store(1)
			m.complete = func(ctx context.Context, in *s3.CompleteMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
				if _, err := m.S3API.CompleteMultipartUpload(ctx, in, optFns...); err != nil {
					return nil, err
				}
				return nil, errors.New("connection reset by peer (injected)")
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			e, m := multipartEnv(t)
			tc.set(e, m, cancel)
			ks := defaultRMPKeySet(t, "k")
			err := e.st.Save(ctx, ks)
			require.Error(t, err)
			require.Equal(t, tc.kind, core.KindOf(err), "%v", err)
			require.Contains(t, err.Error(), "s3://"+e.bucket+"/envector/keys/k/eval_blob.json")
			for _, want := range tc.want {
				require.Contains(t, err.Error(), want)
			}
			require.NotContains(t, err.Error(), "could not remove")
			e.requireNothingStored(t, "k")
			e.requireNoUploads(t)

			m.uploadPart, m.complete = nil, nil
			require.NoError(t, e.st.Save(context.Background(), ks))
			got, err := e.st.Load(context.Background(), "k")
			require.NoError(t, err)
			requireSameBlobs(t, ks, got)
		})
	}
}

// An EvalKey object already there (left from elsewhere, with no secret to lock the key
// id) is not replaced by a multipart save: If-None-Match: * on CompleteMultipartUpload
// refuses it, and the save removes its secrets and its upload.
func TestAWSMultipartNeverOverwrites(t *testing.T) {
	ctx := context.Background()
	e, _ := multipartEnv(t)
	_, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("envector/keys/k/eval_blob.json"), Body: strings.NewReader("old")})
	require.NoError(t, err)
	err = e.st.Save(ctx, defaultRMPKeySet(t, "k"))
	require.ErrorIs(t, err, core.ErrExists)
	require.Contains(t, err.Error(), "S3 CompleteMultipartUpload s3://"+e.bucket+"/envector/keys/k/eval_blob.json")
	require.Contains(t, err.Error(), "PreconditionFailed")
	e.requireNoUploads(t)
	for _, r := range []core.Role{core.SecKey, core.MetadataKey} {
		require.Equal(t, "absent", e.secretState(t, e.st.SecretName("k", r)))
	}
	require.False(t, e.objectExists(t, "envector/keys/k/enc_blob.json"))
	out, err := e.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(e.bucket), Key: aws.String("envector/keys/k/eval_blob.json")})
	require.NoError(t, err)
	old, _ := io.ReadAll(out.Body)
	out.Body.Close()
	require.Equal(t, "old", string(old))
}

// envelopeHash is the SHA-256 of role r's envelope, written by WriteBlob (nothing is
// held).
func envelopeHash(t *testing.T, ks *core.KeySet, r core.Role) []byte {
	t.Helper()
	h := sha256.New()
	_, err := ks.WriteBlob(r, h)
	require.NoError(t, err)
	return h.Sum(nil)
}

// A generated MM EvalKey (ip0: 444 MB of key bytes, a 593 MB envelope) is saved with the
// default threshold and part size: made straight into 16 MiB parts (twice: once to hash
// it, once to send it), with the heap never holding more than a few parts; it loads
// back, byte for byte the envelope, and verifies.
func TestAWSMultipartGeneratedMMEvalKey(t *testing.T) {
	if testing.Short() {
		t.Skip("sends a 593 MB object to moto")
	}
	ctx := context.Background()
	e := newAWSEnv(t)
	m := &multipartS3{S3API: e.st.s3}
	e.st.s3 = m
	ks, err := core.Generate(core.GenerateOptions{KeyID: "mm", Parameters: core.Parameters{Preset: core.PresetIP0, EvalMode: core.EvalModeMM, Dims: []int{32}}})
	require.NoError(t, err)
	size, err := ks.BlobSize(core.EvalKey)
	require.NoError(t, err)
	require.Greater(t, size, int64(500<<20))

	start := time.Now()
	peak := heapprobe.PeakDuring(func() { err = e.st.Save(ctx, ks) })
	require.NoError(t, err)
	t.Logf("saved a %d-byte EvalKey envelope in %d parts in %s; heap in use rose by at most %.0f MiB",
		size, m.parts.Load(), time.Since(start).Round(time.Millisecond), float64(peak)/(1<<20))
	require.Equal(t, int32((size+defaultPartSize-1)/defaultPartSize), m.parts.Load())
	require.Less(t, peak, uint64(256<<20), "the save held %d bytes", peak)
	e.requireNoUploads(t)

	start = time.Now()
	got, err := e.st.Load(ctx, "mm")
	require.NoError(t, err)
	t.Logf("loaded in %s", time.Since(start).Round(time.Millisecond))
	for _, r := range ks.Roles() {
		require.Equal(t, envelopeHash(t, ks, r), envelopeHash(t, got, r), "%s changed on the way through the store", r)
	}
	start = time.Now()
	rep, err := got.Verify(nil)
	require.NoError(t, err)
	require.Equal(t, 4096, rep.GaloisKeys)
	t.Logf("verified in %s", time.Since(start).Round(time.Millisecond))
}
