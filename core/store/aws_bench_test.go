package store

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go/logging"

	"github.com/envector-keys/envector-keys/core"
)

// BenchmarkAWSDefaultKeySet saves and loads the ip0/rmp key set (dims
// 32..4096, with MetadataKey) through moto, two ways in the same run against the same
// server:
//   - store: AWS.Save, then AWS.Load (every envelope parsed and checked);
//   - bare-sdk: the same bytes with bare SDK calls (the SDK's own clients, without the
//     store's HTTP client and its timeout), one after another: CreateSecret x2,
//     PutObject x2 (If-None-Match: *), then GetSecretValue x2 and GetObject x2 (bodies
//     read).
//
// Each iteration then removes the key set with the same bare calls in both (DeleteObject
// x2, DeleteSecret x2 without recovery), timer stopped, so store/bare-sdk is the cost of
// the store's save and load over the calls they cannot avoid.
func BenchmarkAWSDefaultKeySet(b *testing.B) {
	ks, err := core.Generate(core.GenerateOptions{KeyID: "bench", Parameters: core.Parameters{Preset: core.PresetIP0, EvalMode: core.EvalModeRMP}})
	if err != nil {
		b.Fatal(err)
	}
	e := newAWSEnv(b)
	ctx := context.Background()
	// The baseline's clients are the SDK's own, without the store's HTTP client (its
	// no-progress timeout): the same endpoint, region, credentials and path-style S3.
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(testRegion), config.WithLogger(logging.Nop{}))
	if err != nil {
		b.Fatal(err)
	}
	bareS3 := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = true
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	bareSM := secretsmanager.NewFromConfig(cfg)
	blobs := map[core.Role][]byte{}
	for _, r := range ks.Roles() {
		blobs[r], _ = ks.Blob(r)
	}
	bucket := aws.String(e.bucket)
	secret := func(r core.Role) *string { return aws.String(e.st.SecretName("bench", r)) }
	object := func(r core.Role) *string { return aws.String(e.st.ObjectKey("bench", r)) }
	secrets := []core.Role{core.SecKey, core.MetadataKey}
	objects := []core.Role{core.EncKey, core.EvalKey}
	cleanup := func(b *testing.B) {
		b.StopTimer()
		defer b.StartTimer()
		for _, r := range objects {
			if _, err := e.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: object(r)}); err != nil {
				b.Fatal(err)
			}
		}
		for _, r := range secrets {
			if _, err := e.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: secret(r), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
				b.Fatal(err)
			}
		}
	}

	b.Run("store", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if err := e.st.Save(ctx, ks); err != nil {
				b.Fatal(err)
			}
			got, err := e.st.Load(ctx, "bench")
			if err != nil {
				b.Fatal(err)
			}
			if len(got.Roles()) != 4 {
				b.Fatal("roles missing")
			}
			cleanup(b)
		}
	})

	b.Run("bare-sdk", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for _, r := range secrets {
				if _, err := bareSM.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: secret(r), SecretString: aws.String(string(blobs[r]))}); err != nil {
					b.Fatal(err)
				}
			}
			for _, r := range objects {
				if _, err := bareS3.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: object(r), Body: bytes.NewReader(blobs[r]), IfNoneMatch: aws.String("*")}); err != nil {
					b.Fatal(err)
				}
			}
			for _, r := range secrets {
				out, err := bareSM.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: secret(r)})
				if err != nil {
					b.Fatal(err)
				}
				if len(aws.ToString(out.SecretString)) != len(blobs[r]) {
					b.Fatal("secret size differs")
				}
			}
			for _, r := range objects {
				out, err := bareS3.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: object(r)})
				if err != nil {
					b.Fatal(err)
				}
				data, err := io.ReadAll(out.Body)
				out.Body.Close()
				if err != nil {
					b.Fatal(err)
				}
				if len(data) != len(blobs[r]) {
					b.Fatal("object size differs")
				}
			}
			cleanup(b)
		}
	})
}

// BenchmarkAWSDelete times AWS.Delete (immediate) of the ip0/rmp key set, which first
// finds what is stored (one listing and two DescribeSecret calls at once) and then
// deletes objects and secrets, each pair at once.
func BenchmarkAWSDelete(b *testing.B) {
	ks, err := core.Generate(core.GenerateOptions{KeyID: "bench", Parameters: core.Parameters{Preset: core.PresetIP0, EvalMode: core.EvalModeRMP}})
	if err != nil {
		b.Fatal(err)
	}
	e := newAWSEnv(b)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if err := e.st.Save(ctx, ks); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := e.st.Delete(ctx, "bench", DeleteOptions{Immediate: true}); err != nil {
			b.Fatal(err)
		}
	}
}
