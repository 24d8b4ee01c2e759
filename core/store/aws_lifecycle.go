package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/envector-keys/envector-keys/core"
)

// In AWS, version n of key set K is kept as a key set of its own under the prefix
// <Prefix>/K/versions/<n>: objects <Prefix>/K/versions/<n>/K/enc_blob.json and
// eval_blob.json, secrets <Prefix>/K/versions/<n>/K/sec_blob and metadata_blob. The
// current set keeps its names.
//
// Update takes a lock object <Prefix>/K/.lock (created with If-None-Match: *; one
// older than lockTTL, left by a process that died, is taken over), saves the earlier
// version if there is one (all or nothing, as Save), then replaces what changed of the
// current set: each public object is overwritten, each secret gets a new version
// (PutSecretValue), public keys first. On any failure it puts back what it replaced
// (the objects' and the secrets' old bytes, as new versions) and
// removes the saved version. A reader that reads the set while it changes sees the set
// bindings disagree (set digests, key versions) and reads again.

// lockTTL is how long an Update's lock object holds off other updates of the key id.
const lockTTL = 10 * time.Minute

// secretsUpdater is the part of the Secrets Manager client Update needs beyond
// SecretsAPI (*secretsmanager.Client has it).
type secretsUpdater interface {
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
}

// versionStore is the store of version n of key set keyID.
func (a *AWS) versionStore(keyID string, n int) *AWS {
	v := *a
	v.prefix = a.join(keyID) + "/versions/" + strconv.Itoa(n)
	return &v
}

// keptVersions lists the numbers of the earlier versions of key set keyID.
func (a *AWS) keptVersions(ctx context.Context, op, keyID string) ([]int, error) {
	dir := a.join(keyID) + "/versions/"
	seen := map[int]bool{}
	pages := s3.NewListObjectsV2Paginator(a.s3, &s3.ListObjectsV2Input{Bucket: aws.String(a.bucket), Prefix: aws.String(dir)})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return nil, a.remoteError(op, err, "S3 ListObjectsV2", fmt.Sprintf("s3://%s/%s", a.bucket, dir))
		}
		for _, o := range out.Contents {
			num, _, _ := strings.Cut(strings.TrimPrefix(aws.ToString(o.Key), dir), "/")
			if n, ok := versionNumber(num); ok {
				seen[n] = true
			}
		}
	}
	var out []int
	for n := range seen {
		out = append(out, n)
	}
	sort.Ints(out)
	return out, nil
}

// lock takes the update lock of key set keyID and returns its release.
func (a *AWS) lock(ctx context.Context, op, keyID string) (func(), error) {
	key := a.join(keyID) + "/.lock"
	var tok [16]byte
	rand.Read(tok[:])
	body := fmt.Sprintf(`{"token":%q,"taken_at":%q}`, hex.EncodeToString(tok[:]), time.Now().UTC().Format(time.RFC3339))
	for attempt := 0; ; attempt++ {
		_, err := a.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(a.bucket), Key: aws.String(key), Body: strings.NewReader(body), IfNoneMatch: aws.String("*")})
		if err == nil {
			return func() {
				a.s3.DeleteObject(context.WithoutCancel(ctx), &s3.DeleteObjectInput{Bucket: aws.String(a.bucket), Key: aws.String(key)})
			}, nil
		}
		if code := errorCode(err); code != "PreconditionFailed" && code != "ConditionalRequestConflict" {
			return nil, a.remoteError(op, err, "S3 PutObject", fmt.Sprintf("lock object s3://%s/%s", a.bucket, key))
		}
		head, herr := a.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(a.bucket), Key: aws.String(key)})
		if herr == nil && head.LastModified != nil && time.Since(*head.LastModified) > lockTTL {
			// Left by an update that died: take it over.
			a.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(a.bucket), Key: aws.String(key), IfMatch: head.ETag})
			continue
		}
		if attempt >= 20 {
			return nil, core.Errorf(core.ErrExists, op, "key set %q is being changed by another process (lock object s3://%s/%s); try again later, or delete that object if no update is running", keyID, a.bucket, key)
		}
		select {
		case <-ctx.Done():
			return nil, core.Wrap(core.ErrRemote, op, ctx.Err(), "waiting for the lock of key set %q", keyID)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// loadSettled reads key set keyID, and again (a few times) while its envelopes disagree,
// which is what a reader sees while an Update replaces it.
func (a *AWS) loadSettled(ctx context.Context, keyID string, opts core.ParseOptions, roles ...core.Role) (*core.KeySet, error) {
	for attempt := 0; ; attempt++ {
		ks, err := a.loadOnce(ctx, keyID, opts, roles...)
		if err == nil || attempt == 4 || !core.IsSetMismatch(err) {
			return ks, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(time.Duration(100<<attempt) * time.Millisecond):
		}
	}
}

// Update replaces key set keyID (see Store.Update and the comment above).
func (a *AWS) Update(ctx context.Context, keyID string, opts core.ParseOptions, change ChangeFunc) (err error) {
	op := "store.aws.Update"
	if err := core.CheckKeyID(keyID); err != nil {
		return err
	}
	sm, ok := a.sm.(secretsUpdater)
	if !ok {
		return core.Errorf(core.ErrInternal, op, "the Secrets Manager client cannot update secrets (PutSecretValue)")
	}
	unlock, err := a.lock(ctx, op, keyID)
	if err != nil {
		return err
	}
	defer unlock()
	cur, err := a.loadSettled(ctx, keyID, opts)
	if err != nil {
		return err
	}
	next, archive, err := applyChange(op, cur, change)
	defer cur.WipeUnshared(next, archive) // what they share is the caller's now
	if err != nil {
		return err
	}

	var undo []func(context.Context) error
	defer func() {
		if err == nil {
			return
		}
		var left []error
		bg := context.WithoutCancel(ctx)
		for i := len(undo) - 1; i >= 0; i-- {
			if uerr := undo[i](bg); uerr != nil {
				left = append(left, uerr)
			}
		}
		if len(left) > 0 {
			err = &core.Error{Kind: core.KindOf(err), Op: op, Msg: "the update failed, and putting the old set back failed too: " + errors.Join(left...).Error(), Err: err}
		}
	}()

	if archive != nil {
		kept, err := a.keptVersions(ctx, op, keyID)
		if err != nil {
			return err
		}
		if err := checkKept(op, keyID, kept, archive, next); err != nil {
			return err
		}
		vs := a.versionStore(keyID, archive.Version())
		if err := vs.Save(ctx, archive); err != nil {
			return err
		}
		undo = append(undo, func(c context.Context) error { return vs.Delete(c, keyID, DeleteOptions{Immediate: true}) })
	}

	// Public keys first, then the secrets (which record the public keys' digests).
	for _, r := range []core.Role{core.EncKey, core.EvalKey, core.SecKey, core.MetadataKey} {
		if next.SameEnvelope(cur, r) || (!next.Has(r) && !cur.Has(r)) {
			continue
		}
		if !next.Has(r) {
			return core.Errorf(core.ErrInternal, op, "the new key set of %q lacks its %s", keyID, r)
		}
		blob, err := next.Blob(r)
		if err != nil {
			return err
		}
		if r.Secret() {
			u, err := a.replaceSecret(ctx, op, sm, keyID, r, blob, cur)
			clear(blob)
			if err != nil {
				return err
			}
			undo = append(undo, u)
			continue
		}
		u, err := a.replaceObject(ctx, op, keyID, r, blob, cur)
		if err != nil {
			return err
		}
		undo = append(undo, u)
	}
	return nil
}

// replaceSecret makes blob the current value of role r's secret (a new version) and
// returns how to put cur's value back (as another new version: the bytes as they were).
func (a *AWS) replaceSecret(ctx context.Context, op string, sm secretsUpdater, keyID string, r core.Role, blob []byte, cur *core.KeySet) (func(context.Context) error, error) {
	name := a.SecretName(keyID, r)
	if !cur.Has(r) {
		return nil, core.Errorf(core.ErrNotFound, op, "secret %s is absent; the key set is incomplete", name)
	}
	put := func(c context.Context, b []byte) error {
		var tok [16]byte
		rand.Read(tok[:])
		_, err := sm.PutSecretValue(c, &secretsmanager.PutSecretValueInput{SecretId: aws.String(name), SecretString: aws.String(string(b)), ClientRequestToken: aws.String(hex.EncodeToString(tok[:]))})
		if err != nil {
			return a.remoteError(op, err, "Secrets Manager PutSecretValue", "secret "+name)
		}
		return nil
	}
	return putThenUndo(ctx, put, blob, cur, r)
}

// replaceObject overwrites role r's object with blob and returns how to put the old
// bytes (cur's) back.
func (a *AWS) replaceObject(ctx context.Context, op, keyID string, r core.Role, blob []byte, cur *core.KeySet) (func(context.Context) error, error) {
	key := a.ObjectKey(keyID, r)
	put := func(c context.Context, b []byte) error {
		_, err := a.s3.PutObject(c, &s3.PutObjectInput{Bucket: aws.String(a.bucket), Key: aws.String(key), Body: bytes.NewReader(b), ContentLength: aws.Int64(int64(len(b))), ContentType: aws.String("application/json")})
		if err != nil {
			return a.remoteError(op, err, "S3 PutObject", fmt.Sprintf("object s3://%s/%s", a.bucket, key))
		}
		return nil
	}
	return putThenUndo(ctx, put, blob, cur, r)
}

// putThenUndo puts blob as role r and returns how to put cur's bytes of r back.
func putThenUndo(ctx context.Context, put func(context.Context, []byte) error, blob []byte, cur *core.KeySet, r core.Role) (func(context.Context) error, error) {
	if err := put(ctx, blob); err != nil {
		return nil, err
	}
	return func(c context.Context) error {
		old, err := cur.Blob(r)
		if err != nil {
			return err
		}
		if r.Secret() {
			defer clear(old)
		}
		return put(c, old)
	}, nil
}

// LoadVersion reads version n of key set keyID (see Store.LoadVersion).
func (a *AWS) LoadVersion(ctx context.Context, keyID string, n int, roles ...core.Role) (*core.KeySet, error) {
	op := "store.aws.LoadVersion"
	if err := core.CheckKeyID(keyID); err != nil {
		return nil, err
	}
	if n < 1 {
		return nil, core.Errorf(core.ErrInvalidArgument, op, "version %d; accepted: a positive number", n)
	}
	opts := core.ParseOptions{AllowInactive: true}
	kept, err := a.keptVersions(ctx, op, keyID)
	if err != nil {
		return nil, err
	}
	for _, k := range kept {
		if k == n {
			return a.versionStore(keyID, n).LoadWithOptions(ctx, keyID, opts, roles...)
		}
	}
	cur, err := a.loadSettled(ctx, keyID, opts, roles...)
	if err != nil {
		return nil, err
	}
	if cur.Version() != n {
		cur.Wipe()
		return nil, core.Errorf(core.ErrNotFound, op, "key set %q has no version %d: the current one is %d, earlier ones kept: %v", keyID, n, cur.Version(), kept)
	}
	return cur, nil
}

// deleteVersions removes the earlier versions of key set keyID (for Delete).
func (a *AWS) deleteVersions(ctx context.Context, op, keyID string, opts DeleteOptions) error {
	kept, err := a.keptVersions(ctx, op, keyID)
	if err != nil {
		return err
	}
	for _, n := range kept {
		if err := a.versionStore(keyID, n).Delete(ctx, keyID, opts); err != nil && !errors.Is(err, core.ErrNotFound) {
			return err
		}
	}
	return nil
}
