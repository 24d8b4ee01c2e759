package store

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/stretchr/testify/require"

	"github.com/envector-keys/envector-keys/core"
)

func TestAWSRotateStateReseal(t *testing.T) {
	ctx := context.Background()
	env := newAWSEnv(t)
	k1, _ := core.GenerateKEK()
	k2, _ := core.GenerateKEK()
	v1, err := smallSet(t, "k", nil).Seal(k1)
	require.NoError(t, err)
	require.NoError(t, env.st.Save(ctx, v1))

	v2, err := Rotate(ctx, env.st, "k", RotateOptions{KEK: k1})
	require.NoError(t, err)
	require.Equal(t, 2, v2.Version())
	cur, err := env.st.Load(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, v2.SetID(), cur.SetID())
	old, err := env.st.LoadVersion(ctx, "k", 1)
	require.NoError(t, err)
	require.Equal(t, v1.SetID(), old.SetID())
	state, _ := old.State()
	require.Equal(t, core.StateDeactivated, state)
	_, err = old.Verify(k1)
	require.NoError(t, err)
	require.True(t, env.objectExists(t, DefaultPrefix+"/k/versions/1/k/enc_blob.json"))
	sets, err := env.st.ListSets(ctx)
	require.NoError(t, err)
	require.Equal(t, []Listing{{KeyID: "k", Roles: core.AllRoles, Complete: true, Versions: []int{1}}}, sets)
	require.Equal(t, "live", env.secretState(t, DefaultPrefix+"/k/versions/1/k/sec_blob"))

	_, err = Reseal(ctx, env.st, "k", k1, k2)
	require.NoError(t, err)
	cur, err = env.st.Load(ctx, "k")
	require.NoError(t, err)
	_, err = cur.Verify(k2)
	require.NoError(t, err)
	_, err = cur.Unseal(k1)
	require.ErrorIs(t, err, core.ErrAuth)

	_, err = SetState(ctx, env.st, "k", core.StateChange{To: core.StateDeactivated, Reason: "done"}, k2)
	require.NoError(t, err)
	_, err = env.st.Load(ctx, "k")
	require.ErrorIs(t, err, core.ErrInactive)
	seen, err := env.st.LoadVersion(ctx, "k", 2)
	require.NoError(t, err)
	require.Equal(t, "done", seen.Info()[0].StateReason)
	require.NoError(t, seen.Authenticate(k2))

	require.NoError(t, env.st.Delete(ctx, "k", DeleteOptions{Immediate: true}))
	env.requireNothingStored(t, "k")
}

// failingPut fails the nth PutSecretValue (and any S3 PutObject of a key containing
// failObject) once, to inject a fault between the steps of an update.
type failingSM struct {
	*secretsmanager.Client
	n     int32
	calls atomic.Int32
}

func (f *failingSM) PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, o ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	if f.calls.Add(1) == f.n {
		return nil, errors.New("injected fault")
	}
	return f.Client.PutSecretValue(ctx, in, o...)
}

type failingObjS3 struct {
	*s3.Client
	failKey string
}

func (f *failingObjS3) PutObject(ctx context.Context, in *s3.PutObjectInput, o ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	if f.failKey != "" && strings.HasSuffix(aws.ToString(in.Key), f.failKey) && in.IfNoneMatch == nil {
		return nil, errors.New("injected fault")
	}
	return f.Client.PutObject(ctx, in, o...)
}

// A fault between the steps of a reseal, a state change or a rotation leaves the old
// set whole, byte for byte, and nothing of the attempt.
func TestAWSUpdateFaultKeepsOldSet(t *testing.T) {
	ctx := context.Background()
	k1, _ := core.GenerateKEK()
	k2, _ := core.GenerateKEK()
	for _, c := range []struct {
		name    string
		failSM  int32  // fail the nth PutSecretValue
		failObj string // fail the overwrite of this object
		run     func(st Store) error
	}{
		{"reseal, second secret", 2, "", func(st Store) error { _, err := Reseal(ctx, st, "k", k1, k2); return err }},
		{"reseal, first secret", 1, "", func(st Store) error { _, err := Reseal(ctx, st, "k", k1, k2); return err }},
		{"state, EvalKey object", 0, "eval_blob.json", func(st Store) error {
			_, err := SetState(ctx, st, "k", core.StateChange{To: core.StateDeactivated, Reason: "r"}, k1)
			return err
		}},
		{"state, a secret", 1, "", func(st Store) error {
			_, err := SetState(ctx, st, "k", core.StateChange{To: core.StateDeactivated, Reason: "r"}, k1)
			return err
		}},
		{"rotate, MetadataKey", 2, "", func(st Store) error { _, err := Rotate(ctx, st, "k", RotateOptions{KEK: k1}); return err }},
	} {
		env := newAWSEnv(t)
		ks, err := smallSet(t, "k", nil).Seal(k1)
		require.NoError(t, err)
		require.NoError(t, env.st.Save(ctx, ks))
		before, err := env.st.Load(ctx, "k")
		require.NoError(t, err)

		st, err := NewAWS(ctx, AWSConfig{Region: testRegion, Bucket: env.bucket, Prefix: DefaultPrefix,
			S3: &failingObjS3{Client: env.s3, failKey: c.failObj}, Secrets: &failingSM{Client: env.sm, n: c.failSM}})
		require.NoError(t, err)
		err = c.run(st)
		require.Error(t, err, c.name)
		require.Contains(t, err.Error(), "injected fault", c.name)

		after, err := env.st.Load(ctx, "k")
		require.NoError(t, err, c.name)
		requireSameBlobs(t, before, after)
		_, err = after.Verify(k1)
		require.NoError(t, err, c.name)
		kept, err := env.st.keptVersions(ctx, "test", "k")
		require.NoError(t, err)
		require.Empty(t, kept, "%s: no version left behind", c.name)
		require.False(t, env.objectExists(t, DefaultPrefix+"/k/.lock"), "%s: the lock is released", c.name)
	}
}
