package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"

	"github.com/envector-keys/envector-keys/core"
)

// The defaults of the AWS store; they match the enVector Python SDK, so tools written
// for it find the keys.
const (
	DefaultBucket = "envector-key-storage"
	DefaultPrefix = "envector/keys"
	// DefaultRecoveryWindowDays is how long Secrets Manager keeps a deleted secret
	// before it is gone for good (and its name free again), unless the deletion is
	// immediate.
	DefaultRecoveryWindowDays = 7
	// MaxSecretSize is the largest SecretString Secrets Manager stores, in bytes.
	MaxSecretSize = 65536
	// DefaultAWSTimeout is the AWS store's request timeout when AWSConfig.Timeout is 0:
	// the longest one AWS request may go without progress.
	DefaultAWSTimeout = 30 * time.Second
)

// Objects whose envelope is over defaultMultipartThreshold bytes (an MM or MM32 EvalKey:
// 0.6 to 1.2 GB) go up as a multipart upload, made into parts of defaultPartSize bytes
// as they are written; at most partsInFlight parts are being sent while one more is
// filled, so a save holds a few parts whatever the key's size.
const (
	defaultMultipartThreshold = 64 << 20
	defaultPartSize           = 16 << 20
	minPartSize               = 5 << 20 // S3's smallest part, except the last
	maxParts                  = 10000   // S3's most parts in one upload
	partsInFlight             = 2
)

// S3API is the part of the S3 client the AWS store uses (*s3.Client has it). It is an
// interface so a test can wrap the real client, e.g. to inject a fault.
type S3API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	DeleteObject(ctx context.Context, in *s3.DeleteObjectInput, optFns ...func(*s3.Options)) (*s3.DeleteObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPart(ctx context.Context, in *s3.UploadPartInput, optFns ...func(*s3.Options)) (*s3.UploadPartOutput, error)
	CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
	ListMultipartUploads(ctx context.Context, in *s3.ListMultipartUploadsInput, optFns ...func(*s3.Options)) (*s3.ListMultipartUploadsOutput, error)
}

// SecretsAPI is the part of the Secrets Manager client the AWS store uses
// (*secretsmanager.Client has it).
type SecretsAPI interface {
	CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	DeleteSecret(ctx context.Context, in *secretsmanager.DeleteSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error)
	ListSecrets(ctx context.Context, in *secretsmanager.ListSecretsInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error)
}

// AWSConfig chooses where the AWS store keeps key sets.
type AWSConfig struct {
	// Region is the AWS region of the bucket and the secrets, e.g. "us-east-1";
	// required.
	Region string
	// Bucket is the S3 bucket of the public keys; required (DefaultBucket is the usual
	// choice). It must exist: the store never creates buckets.
	Bucket string
	// Prefix starts every object key and secret name; "" means no prefix
	// (DefaultPrefix is the usual choice). Slashes at either end are ignored.
	Prefix string
	// RecoveryWindowDays is how long a deleted secret stays recoverable (and its name
	// taken): 7 to 30 days; 0 means DefaultRecoveryWindowDays.
	RecoveryWindowDays int
	// Timeout is the longest any one AWS request may go without progress, that is
	// with nothing sent and nothing received: while connecting, sending the request
	// body, waiting for the answer or reading the response body. A request that times
	// out fails (it is not retried), so an endpoint that never answers makes a call fail
	// within about Timeout. A slow transfer that keeps moving is never cut, however
	// long it takes. 0 means DefaultAWSTimeout; a negative Timeout is an error. It
	// applies to the clients NewAWS builds, not to S3 or Secrets given here.
	Timeout time.Duration
	// S3 and Secrets, when set, are used instead of clients built by LoadAWSClients.
	S3      S3API
	Secrets SecretsAPI
}

// AWS keeps each key set in AWS: EncKey and EvalKey as the S3 objects
// <Prefix>/<key_id>/enc_blob.json and eval_blob.json in Bucket, SecKey and MetadataKey
// as the Secrets Manager secrets <Prefix>/<key_id>/sec_blob and metadata_blob
// (SecretString). Every blob is the key's envelope JSON, byte for byte the local key
// file.
//
// Save is all or nothing and never overwrites. It creates the secrets first; creating
// a secret whose name exists fails, so SecKey's secret is the lock that lets exactly one
// of several concurrent saves of a key id win. It then writes the objects with
// If-None-Match: *, so an existing object is never replaced. An object whose envelope is
// over 64 MiB (an MM or MM32 EvalKey) goes up as a multipart upload of 16 MiB parts,
// made as they are sent (a generated key's bytes are never all in memory), and
// If-None-Match: * is on its CompleteMultipartUpload. On any failure it aborts its
// multipart upload and removes what this call created (secrets without a recovery
// window), and only that.
//
// Every save has a random token: the version id (ClientRequestToken) of its secrets and
// the user metadata x-amz-meta-envector-save of its objects. When the answer to a call
// is lost and the SDK's retry is refused because the first attempt succeeded (S3's
// PreconditionFailed against the save's own object, say), the token shows the object or
// secret is the save's own: the call succeeded. When the outcome stays unknown, the
// rollback removes what carries the token. So a save ends with the whole key set stored
// or nothing of it, unless AWS cannot be reached to remove what it wrote; then the error
// says what is left.
//
// Every request has a timeout (AWSConfig.Timeout): one that makes no progress for that
// long fails, and is not retried.
//
// Errors name the call, the bucket, object or secret and the AWS error code, then say
// once what went wrong (what AWS said and its request id, or what the network did: a
// refused connection names the AWS_ENDPOINT_URL variable that chose the endpoint), and
// map to core.ErrNotFound (missing bucket, object or secret), core.ErrExists,
// core.ErrAuth (missing, invalid or expired credentials, or access denied) or
// core.ErrRemote. The SDK's error stays in the chain (errors.As finds
// smithy.APIError). They never carry key material. The IAM permissions used: s3:PutObject, s3:GetObject,
// s3:DeleteObject, s3:ListBucket, s3:AbortMultipartUpload,
// s3:ListBucketMultipartUploads (only after a retried CreateMultipartUpload),
// secretsmanager:CreateSecret, GetSecretValue, DescribeSecret, DeleteSecret and
// ListSecrets (List and ListSets). An AWS store is safe for concurrent use.
type AWS struct {
	region, bucket, prefix string
	recoveryDays           int
	s3                     S3API
	sm                     SecretsAPI
	// multipartThreshold and partSize: an object whose envelope is over
	// multipartThreshold bytes goes up in parts of partSize bytes (at least
	// minPartSize); tests lower them.
	multipartThreshold, partSize int64
}

var (
	regionPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	bucketPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	prefixPattern = regexp.MustCompile(`^[A-Za-z0-9_+=.@-]+(/[A-Za-z0-9_+=.@-]+)*$`)
)

// maxPrefixLen keeps the longest secret name (prefix, a 128-character key id and
// "/metadata_blob") under Secrets Manager's 512 characters.
const maxPrefixLen = 256

// NewAWS checks cfg and returns the AWS store. Without cfg.S3 and cfg.Secrets it loads
// the standard AWS configuration (see LoadAWSClients); it makes no network call.
func NewAWS(ctx context.Context, cfg AWSConfig) (*AWS, error) {
	op := "store.aws"
	if cfg.Region == "" {
		return nil, core.Errorf(core.ErrInvalidArgument, op, "no AWS region given; give one, e.g. us-east-1")
	}
	if len(cfg.Region) > 64 || !regionPattern.MatchString(cfg.Region) {
		return nil, core.Errorf(core.ErrInvalidArgument, op, "AWS region %q is not accepted; accepted: a region name such as us-east-1 (lower-case letters, digits and '-')", cfg.Region)
	}
	if cfg.Bucket == "" {
		return nil, core.Errorf(core.ErrInvalidArgument, op, "no S3 bucket given; give one (the usual is %s)", DefaultBucket)
	}
	if !bucketPattern.MatchString(cfg.Bucket) || strings.Contains(cfg.Bucket, "..") {
		return nil, core.Errorf(core.ErrInvalidArgument, op, "S3 bucket name %q is not accepted; accepted: 3 to 63 lower-case letters, digits, '.' and '-', starting and ending with a letter or digit", cfg.Bucket)
	}
	prefix := strings.Trim(cfg.Prefix, "/")
	if prefix != "" && (len(prefix) > maxPrefixLen || !prefixPattern.MatchString(prefix)) {
		return nil, core.Errorf(core.ErrInvalidArgument, op, "prefix %q is not accepted; accepted: \"\" (no prefix) or up to %d letters, digits and _+=.@- in parts separated by single '/'", cfg.Prefix, maxPrefixLen)
	}
	days := cfg.RecoveryWindowDays
	if days == 0 {
		days = DefaultRecoveryWindowDays
	}
	if days < 7 || days > 30 {
		return nil, core.Errorf(core.ErrInvalidArgument, op, "recovery window of %d days is not accepted; accepted: 7 to 30 days", days)
	}
	timeout, err := checkTimeout(op, cfg.Timeout)
	if err != nil {
		return nil, err
	}
	a := &AWS{region: cfg.Region, bucket: cfg.Bucket, prefix: prefix, recoveryDays: days, s3: cfg.S3, sm: cfg.Secrets,
		multipartThreshold: defaultMultipartThreshold, partSize: defaultPartSize}
	if a.s3 == nil || a.sm == nil {
		s3c, smc, err := LoadAWSClients(ctx, cfg.Region, WithAWSTimeout(timeout))
		if err != nil {
			return nil, err
		}
		if a.s3 == nil {
			a.s3 = s3c
		}
		if a.sm == nil {
			a.sm = smc
		}
	}
	return a, nil
}

// AWSClientOption is an option of LoadAWSClients.
type AWSClientOption func(*awsClientOptions)

type awsClientOptions struct {
	timeout time.Duration
}

// WithAWSTimeout sets the clients' request timeout (see AWSConfig.Timeout): the
// longest one request may go without progress; 0 means DefaultAWSTimeout.
func WithAWSTimeout(d time.Duration) AWSClientOption {
	return func(o *awsClientOptions) { o.timeout = d }
}

// checkTimeout returns the request timeout d stands for (0: DefaultAWSTimeout), or an
// error for a negative one.
func checkTimeout(op string, d time.Duration) (time.Duration, error) {
	switch {
	case d < 0:
		return 0, core.Errorf(core.ErrInvalidArgument, op, "AWS request timeout %s is not accepted; accepted: a positive duration, the longest one AWS request may go without progress (0 = the default, %s)", d, DefaultAWSTimeout)
	case d == 0:
		return DefaultAWSTimeout, nil
	}
	return d, nil
}

// LoadAWSClients builds S3 and Secrets Manager clients from the standard AWS
// configuration (config.LoadDefaultConfig): credentials from the default chain
// (environment, shared profile, SSO, container or instance role), and endpoints from
// the SDK's own AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3 and
// AWS_ENDPOINT_URL_SECRETS_MANAGER variables or endpoint_url in the profile. When an S3
// endpoint is set, S3 is addressed path-style (http://endpoint/bucket/key), as local
// S3 servers need. Every request has the timeout of WithAWSTimeout (DefaultAWSTimeout
// without it): an attempt that makes no progress for that long fails, and is not
// retried.
func LoadAWSClients(ctx context.Context, region string, opts ...AWSClientOption) (*s3.Client, *secretsmanager.Client, error) {
	var co awsClientOptions
	for _, f := range opts {
		f(&co)
	}
	timeout, err := checkTimeout("store.aws", co.timeout)
	if err != nil {
		return nil, nil, err
	}
	// No SDK log lines on standard error (a library must not write there); every
	// failure comes back as an error.
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region), config.WithLogger(logging.Nop{}))
	if err != nil {
		return nil, nil, core.Wrap(core.ErrInvalidArgument, "store.aws", err, "loading the AWS configuration (environment and shared config files)")
	}
	// The option functions run after the SDK has resolved its HTTP client and retryer
	// (from the defaults mode, AWS_MAX_ATTEMPTS, AWS_RETRY_MODE, a custom CA bundle):
	// those are wrapped, not replaced.
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if o.BaseEndpoint != nil {
			o.UsePathStyle = true
		}
		o.DisableLogOutputChecksumValidationSkipped = true
		var client httpDoer
		client, o.Retryer = withTimeout(o.HTTPClient, o.Retryer, timeout)
		o.HTTPClient = client
	})
	smc := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		var client httpDoer
		client, o.Retryer = withTimeout(o.HTTPClient, o.Retryer, timeout)
		o.HTTPClient = client
	})
	return s3c, smc, nil
}

// Region, Bucket and Prefix return the store's configuration.
func (a *AWS) Region() string { return a.region }

// Bucket returns the S3 bucket.
func (a *AWS) Bucket() string { return a.bucket }

// Prefix returns the name prefix, without slashes at its ends ("" = none).
func (a *AWS) Prefix() string { return a.prefix }

// String describes where the store keeps keys.
func (a *AWS) String() string {
	return fmt.Sprintf("AWS region %s, bucket %s, prefix %q", a.region, a.bucket, a.prefix)
}

func (a *AWS) join(keyID string) string {
	if a.prefix == "" {
		return keyID
	}
	return a.prefix + "/" + keyID
}

// SecretName returns the Secrets Manager name of a secret role (SecKey, MetadataKey).
func (a *AWS) SecretName(keyID string, r core.Role) string {
	return a.join(keyID) + "/" + r.BlobName()
}

// ObjectKey returns the S3 object key of a public role (EncKey, EvalKey).
func (a *AWS) ObjectKey(keyID string, r core.Role) string {
	return a.join(keyID) + "/" + r.BlobName() + ".json"
}

// where names the home of role r of keyID, for messages.
func (a *AWS) where(keyID string, r core.Role) string {
	if r.Secret() {
		return fmt.Sprintf("secret %s", a.SecretName(keyID, r))
	}
	return fmt.Sprintf("object s3://%s/%s", a.bucket, a.ObjectKey(keyID, r))
}

// --- errors ---

// errorCode returns the AWS error code of err ("NoSuchKey"), or "".
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

var (
	authCodes = map[string]bool{
		"AccessDenied": true, "AccessDeniedException": true, "InvalidAccessKeyId": true,
		"SignatureDoesNotMatch": true, "InvalidSignatureException": true, "IncompleteSignature": true,
		"ExpiredToken": true, "ExpiredTokenException": true, "InvalidClientTokenId": true,
		"UnrecognizedClientException": true, "MissingAuthenticationToken": true, "InvalidToken": true,
		"TokenRefreshRequired": true, "AllAccessDisabled": true,
	}
	notFoundCodes = map[string]bool{
		"NoSuchBucket": true, "NoSuchKey": true, "NotFound": true, "ResourceNotFoundException": true,
	}
	existsCodes = map[string]bool{
		"ResourceExistsException": true, "PreconditionFailed": true, "ConditionalRequestConflict": true,
	}
)

// remoteError classifies an AWS failure of call ("S3 PutObject") on what ("object
// s3://b/k"): the message names both and the AWS error code; the cause is an awsCause,
// the SDK's error said once (see describeAWSError), which never holds request bodies.
func (a *AWS) remoteError(op string, err error, call, what string) error {
	code := errorCode(err)
	var kind core.Kind
	var tail string
	switch {
	case code == "NoSuchBucket":
		kind, tail = core.ErrNotFound, fmt.Sprintf(": bucket %q does not exist in region %s (%s); the store never creates buckets", a.bucket, a.region, code)
	case authCodes[code]:
		kind, tail = core.ErrAuth, fmt.Sprintf(": AWS refused the credentials or their permissions (%s)", code)
	case notFoundCodes[code]:
		kind, tail = core.ErrNotFound, fmt.Sprintf(": not found (%s)", code)
	case existsCodes[code]:
		kind, tail = core.ErrExists, fmt.Sprintf(": already exists (%s); keys are never overwritten", code)
	case code != "":
		kind, tail = core.ErrRemote, fmt.Sprintf(" failed (%s)", code)
	case strings.Contains(err.Error(), "get identity: "):
		// The SDK has no error type for a failed credential lookup.
		kind, tail = core.ErrAuth, ": no usable AWS credentials (looked in the environment, shared config and credentials files, SSO, container and instance role)"
	default:
		kind, tail = core.ErrRemote, " failed (no AWS error code: the request did not complete)"
	}
	subject := call + " " + what
	cause := &awsCause{text: describeAWSError(err, a.region, false), err: err, subject: subject, tail: tail}
	return &core.Error{Kind: kind, Op: op, Msg: subject + tail, Err: cause}
}

// --- saving ---

// saveTokenKey names the user metadata (x-amz-meta-envector-save) every object of a
// save carries: the save's random token, which is also the version id
// (ClientRequestToken) of the secrets it creates. It tells this save's objects and
// secrets from anyone else's when a call's outcome is unknown: an attempt whose answer
// was lost may have succeeded, and the SDK's retry of it is then refused (S3 answers
// PreconditionFailed to If-None-Match: *, Secrets Manager may answer
// ResourceExistsException) although the object or secret is this save's own.
const saveTokenKey = "envector-save"

// saveUndo records what one Save created (or may have created), so a failure removes
// exactly that.
type saveUndo struct {
	token  string // this save's token (see saveTokenKey)
	locked bool   // this save created SecKey's secret: no other save of the key id gets past it

	mu      sync.Mutex
	secrets []string          // created secrets
	maybeSM map[string]bool   // secrets that may have been created (outcome unknown)
	objects []string          // created object keys
	maybeS3 map[string]int64  // object key -> size of our object, outcome unknown
	uploads map[string]string // object key -> id of our multipart upload, not completed
	strays  map[string]bool   // object keys for which an upload may have been started with its answer lost
}

func newSaveUndo() *saveUndo {
	var tok [16]byte
	rand.Read(tok[:])
	return &saveUndo{token: hex.EncodeToString(tok[:]), maybeSM: map[string]bool{}, maybeS3: map[string]int64{},
		uploads: map[string]string{}, strays: map[string]bool{}}
}

func (u *saveUndo) madeSecret(name string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.secrets = append(u.secrets, name)
}

func (u *saveUndo) maybeSecret(name string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.maybeSM[name] = true
}

func (u *saveUndo) madeObject(key string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.objects = append(u.objects, key)
	delete(u.uploads, key) // completed
}

func (u *saveUndo) maybeObject(key string, size int64) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.maybeS3[key] = size
}

// Save stores every role ks holds (see AWS): secrets first, then objects. A secret
// blob over MaxSecretSize bytes is refused before any network call.
func (a *AWS) Save(ctx context.Context, ks *core.KeySet) (err error) {
	op := "store.aws.Save"
	keyID := ks.ID()
	if err := core.CheckKeyID(keyID); err != nil {
		return err
	}
	roles := ks.Roles()
	if len(roles) == 0 {
		return core.Errorf(core.ErrInvalidArgument, op, "key set %q holds no keys", keyID)
	}
	blobs := make([][]byte, len(roles))
	defer func() {
		for i, r := range roles {
			if r.Secret() {
				clear(blobs[i])
			}
		}
	}()
	// The secret envelopes (small) now, to refuse one too big before any call; the
	// public ones (EvalKey is megabytes) while the secrets are being created, except
	// those over the multipart threshold, which are made as they are sent.
	var marshalled sync.WaitGroup
	marshalErrs := make([]error, len(roles))
	sizes := make([]int64, len(roles))
	for i, r := range roles {
		if !r.Secret() {
			if sizes[i], err = ks.BlobSize(r); err != nil {
				marshalled.Wait()
				return err
			}
			if sizes[i] <= a.multipartThreshold {
				marshalled.Go(func() { blobs[i], marshalErrs[i] = ks.Blob(r) })
			}
			continue
		}
		if blobs[i], err = ks.Blob(r); err != nil {
			marshalled.Wait()
			return err
		}
		if len(blobs[i]) > MaxSecretSize {
			marshalled.Wait()
			return core.Errorf(core.ErrInvalidArgument, op, "the %s envelope of key %q is %d bytes; a Secrets Manager secret holds at most %d bytes, so nothing was sent", r, keyID, len(blobs[i]), MaxSecretSize)
		}
	}

	undo := newSaveUndo()
	defer func() {
		if err != nil {
			if uerr := a.undoSave(ctx, undo); uerr != nil {
				err = &core.Error{Kind: core.KindOf(err), Op: op, Msg: "the save failed, and " + uerr.Error(), Err: err}
			}
		}
	}()

	// Secrets one at a time, SecKey first: an existing name stops the save before
	// anything else is written.
	for i, r := range roles {
		if !r.Secret() {
			continue
		}
		if err := a.createSecret(ctx, op, keyID, r, blobs[i], undo); err != nil {
			marshalled.Wait()
			return err
		}
	}
	undo.locked = ks.Has(core.SecKey)
	marshalled.Wait()
	if err := errors.Join(marshalErrs...); err != nil {
		return err
	}
	// A role this key set lacks (a set without MetadataKey) must not be there either,
	// or loading would mix a stale key into the new set.
	for _, r := range core.AllRoles {
		if !ks.Has(r) {
			if err := a.requireAbsent(ctx, op, keyID, r); err != nil {
				return err
			}
		}
	}
	// Objects in parallel.
	var wg sync.WaitGroup
	errs := make([]error, len(roles))
	for i, r := range roles {
		if r.Secret() {
			continue
		}
		if sizes[i] > a.multipartThreshold {
			wg.Go(func() { errs[i] = a.putObjectMultipart(ctx, op, keyID, r, ks, sizes[i], undo) })
			continue
		}
		wg.Go(func() { errs[i] = a.putObject(ctx, op, keyID, r, blobs[i], undo) })
	}
	wg.Wait()
	return joinRemote(errs...)
}

// createSecret creates role r's secret, with the save's token as its version id. A
// retry of CreateSecret whose first attempt succeeded with its answer lost is answered
// with success when the token and value are the same (AWS documents this, and moto
// does it); should it be refused with ResourceExistsException instead, the secret is
// still recognised as this save's by the token.
func (a *AWS) createSecret(ctx context.Context, op, keyID string, r core.Role, blob []byte, undo *saveUndo) error {
	name := a.SecretName(keyID, r)
	_, err := a.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:               aws.String(name),
		SecretString:       aws.String(string(blob)),
		ClientRequestToken: aws.String(undo.token),
		Description:        aws.String(fmt.Sprintf("enVector %s of key set %s (envelope JSON)", r, keyID)),
	})
	if err == nil {
		undo.madeSecret(name)
		return nil
	}
	switch code := errorCode(err); {
	case code == "ResourceExistsException" || code == "InvalidRequestException":
		// AWS answers InvalidRequestException for a name scheduled for deletion.
		return a.secretTaken(ctx, op, keyID, name, err, undo)
	case !refusedOutright(code):
		// An earlier attempt may have created it (its answer lost, and the retries
		// failed otherwise): undoSave looks for the token.
		undo.maybeSecret(name)
	}
	return a.remoteError(op, err, "Secrets Manager CreateSecret", "secret "+name)
}

// refusedOutright reports whether an AWS error code says the request was refused as
// such (credentials, permissions, a missing bucket), so that no attempt of it can have
// been carried out.
func refusedOutright(code string) bool {
	return authCodes[code] || code == "NoSuchBucket"
}

// secretTaken handles a CreateSecret refused because the name is taken: by this save
// (an attempt whose answer was lost made it; then it is this save's and nil is
// returned), by a secret scheduled for deletion, or by another key set.
func (a *AWS) secretTaken(ctx context.Context, op, keyID, name string, cause error, undo *saveUndo) error {
	d, derr := a.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
	switch {
	case derr == nil && d.DeletedDate == nil && hasVersion(d, undo.token):
		undo.madeSecret(name)
		return nil
	case derr == nil && d.DeletedDate != nil:
		return scheduledError(op, keyID, name, *d.DeletedDate, cause)
	case derr == nil || (errorCode(derr) == "ResourceNotFoundException" && errorCode(cause) == "ResourceExistsException"):
		return core.Wrap(core.ErrExists, op, cause, "secret %s already exists: key set %q is already stored in region %s; keys are never overwritten (choose another key id, or delete the old key set)", name, keyID, a.region)
	case errorCode(derr) == "ResourceNotFoundException":
		return a.remoteError(op, cause, "Secrets Manager CreateSecret", "secret "+name)
	default:
		undo.maybeSecret(name)
		return withNote(a.remoteError(op, cause, "Secrets Manager CreateSecret", "secret "+name),
			fmt.Sprintf("Secrets Manager DescribeSecret, asked whether this save created it, failed too (%s)", a.codeOr(derr)))
	}
}

// hasVersion reports whether a described secret has a version whose id is token.
func hasVersion(d *secretsmanager.DescribeSecretOutput, token string) bool {
	_, ok := d.VersionIdsToStages[token]
	return ok
}

// withNote adds a sentence to the message of a *core.Error.
func withNote(err error, note string) error {
	var ce *core.Error
	if !errors.As(err, &ce) {
		return fmt.Errorf("%w; %s", err, note)
	}
	c := *ce
	c.Msg += "; " + note
	return &c
}

// scheduledError says that secret name cannot be created because it is scheduled for
// deletion on when.
func scheduledError(op, keyID, name string, when time.Time, cause error) error {
	return core.Wrap(core.ErrExists, op, cause,
		"secret %s of key set %q is scheduled for deletion (on %s): its name cannot be reused until then; restore it with RestoreSecret, or delete key set %q with immediate deletion (CLI: delete --immediate) to free the name now",
		name, keyID, when.UTC().Format(time.RFC3339), keyID)
}

// requireAbsent fails with core.ErrExists if role r of keyID is stored (for a secret,
// also when it is scheduled for deletion).
func (a *AWS) requireAbsent(ctx context.Context, op, keyID string, r core.Role) error {
	var err error
	if r.Secret() {
		_, err = a.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(a.SecretName(keyID, r))})
	} else {
		_, err = a.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(a.bucket), Key: aws.String(a.ObjectKey(keyID, r))})
	}
	switch code := errorCode(err); {
	case err == nil:
		return core.Errorf(core.ErrExists, op, "key set %q has no %s but %s exists (left from an earlier key set?); keys are never mixed or overwritten (delete the old key set first)", keyID, r, a.where(keyID, r))
	case code == "ResourceNotFoundException" || code == "NotFound":
		return nil
	case r.Secret():
		return a.remoteError(op, err, "Secrets Manager DescribeSecret", a.where(keyID, r))
	default:
		return a.remoteError(op, err, "S3 HeadObject", a.where(keyID, r))
	}
}

func (a *AWS) putObject(ctx context.Context, op, keyID string, r core.Role, blob []byte, undo *saveUndo) error {
	key := a.ObjectKey(keyID, r)
	_, err := a.s3.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(a.bucket),
		Key:           aws.String(key),
		Body:          bytes.NewReader(blob),
		ContentLength: aws.Int64(int64(len(blob))),
		ContentType:   aws.String("application/json"),
		Metadata:      map[string]string{saveTokenKey: undo.token},
		IfNoneMatch:   aws.String("*"),
	})
	if err == nil {
		undo.madeObject(key)
		return nil
	}
	return a.putFailed(ctx, op, "S3 PutObject", key, int64(len(blob)), err, undo)
}

// putFailed settles a failed PutObject or CompleteMultipartUpload (call) of object key,
// size bytes. An attempt whose answer was lost may have made the object, and the SDK's
// retry of it then fails although the object is this save's: If-None-Match: * answers
// PreconditionFailed, a completed upload NoSuchUpload, or the retries fail otherwise.
// So unless AWS refused the call outright, HeadObject tells: an object with this save's
// token and size is this save's, and the call succeeded after all (nil). Otherwise the
// call's error is returned; if HeadObject failed too, undoSave looks again.
func (a *AWS) putFailed(ctx context.Context, op, call, key string, size int64, cause error, undo *saveUndo) error {
	url := fmt.Sprintf("s3://%s/%s", a.bucket, key)
	err := a.remoteError(op, cause, call, url)
	if refusedOutright(errorCode(cause)) {
		return err
	}
	ours, herr := a.ownObject(ctx, key, size, undo.token)
	switch {
	case ours:
		undo.madeObject(key)
		return nil
	case herr != nil:
		undo.maybeObject(key, size)
		return withNote(err, fmt.Sprintf("S3 HeadObject, asked whether this save made the object, failed too (%s)", a.codeOr(herr)))
	}
	return err
}

// ownObject reports whether object key exists and is this save's: it carries the
// save's token and is size bytes. herr is a failure to find out (a missing object is
// none).
func (a *AWS) ownObject(ctx context.Context, key string, size int64, token string) (ours bool, herr error) {
	h, err := a.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(a.bucket), Key: aws.String(key)})
	if err != nil {
		if notFoundCodes[errorCode(err)] {
			return false, nil
		}
		return false, err
	}
	for k, v := range h.Metadata {
		if strings.EqualFold(k, saveTokenKey) {
			return v == token && aws.ToInt64(h.ContentLength) == size, nil
		}
	}
	return false, nil
}

// putObjectMultipart writes role r's envelope (size bytes) as a multipart upload, the
// envelope made by ks.WriteBlob into a pipe and cut into parts as it comes: a generated
// EvalKey is never in memory as a whole, key bytes or text. Up to partsInFlight parts are
// sent at once while the next is filled. CompleteMultipartUpload carries If-None-Match:
// *, so an object that appeared meanwhile is never replaced (the secrets this save
// created first are the lock against other saves). On failure the upload is left in
// undo.uploads for undoSave to abort.
func (a *AWS) putObjectMultipart(ctx context.Context, op, keyID string, r core.Role, ks *core.KeySet, size int64, undo *saveUndo) (err error) {
	key := a.ObjectKey(keyID, r)
	url := fmt.Sprintf("s3://%s/%s", a.bucket, key)
	partSize := max(a.partSize, minPartSize, (size+maxParts-1)/maxParts)

	created, err := a.s3.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket:            aws.String(a.bucket),
		Key:               aws.String(key),
		ContentType:       aws.String("application/json"),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
		Metadata:          map[string]string{saveTokenKey: undo.token},
	})
	if err != nil {
		// An attempt whose answer was lost may have started an upload (holding no
		// part): undoSave aborts it.
		if !refusedOutright(errorCode(err)) {
			undo.mu.Lock()
			undo.strays[key] = true
			undo.mu.Unlock()
		}
		return a.remoteError(op, err, "S3 CreateMultipartUpload", url)
	}
	uploadID := aws.ToString(created.UploadId)
	undo.mu.Lock()
	undo.uploads[key] = uploadID
	undo.mu.Unlock()
	if res, ok := retry.GetAttemptResults(created.ResultMetadata); ok && len(res.Results) > 1 {
		// The call was retried: an earlier attempt may have started an upload whose
		// answer was lost. It is aborted now (or by undoSave if that fails).
		undo.mu.Lock()
		undo.strays[key] = true
		undo.mu.Unlock()
		if left := a.abortStrays(ctx, key, undo); len(left) > 0 {
			return core.Errorf(core.ErrRemote, op, "S3 CreateMultipartUpload %s was retried, and the uploads an earlier attempt may have started could not be aborted: %s", url, strings.Join(left, ", "))
		}
		undo.mu.Lock()
		delete(undo.strays, key)
		undo.mu.Unlock()
	}

	pr, pw := io.Pipe()
	made := make(chan struct{})
	go func() {
		defer close(made)
		n, err := ks.WriteBlob(r, pw)
		if err == nil && n != size {
			err = core.Errorf(core.ErrInternal, op, "the %s envelope of key %q is %d bytes, not the %d announced", r, keyID, n, size)
		}
		pw.CloseWithError(err) // nil: the reader sees the end
	}()
	defer func() {
		// A failed upload stops the writer at its next write; it is waited for, so
		// nothing of this save runs after Save returns.
		pr.CloseWithError(errors.New("the upload stopped"))
		<-made
	}()

	uctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		parts    []types.CompletedPart
		firstErr error
		sending  sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
	}
	failed := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return firstErr != nil
	}
	free := make(chan []byte, partsInFlight+1)
	for range partsInFlight + 1 {
		free <- nil // allocated when first used
	}
	var sent int64
	for num := int32(1); !failed(); num++ {
		buf := <-free
		if buf == nil {
			buf = make([]byte, partSize)
		}
		n, rerr := io.ReadFull(pr, buf)
		last := rerr == io.EOF || rerr == io.ErrUnexpectedEOF
		if rerr != nil && !last {
			var ce *core.Error
			if !errors.As(rerr, &ce) {
				rerr = core.Wrap(core.ErrInternal, op, rerr, "making the %s envelope of key %q", r, keyID)
			}
			fail(rerr)
			break
		}
		if n > 0 {
			sent += int64(n)
			sending.Go(func() {
				defer func() { free <- buf }()
				out, err := a.s3.UploadPart(uctx, &s3.UploadPartInput{
					Bucket:            aws.String(a.bucket),
					Key:               aws.String(key),
					UploadId:          aws.String(uploadID),
					PartNumber:        aws.Int32(num),
					Body:              bytes.NewReader(buf[:n]),
					ContentLength:     aws.Int64(int64(n)),
					ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
				})
				if err != nil {
					fail(a.remoteError(op, err, fmt.Sprintf("S3 UploadPart (part %d)", num), url))
					return
				}
				mu.Lock()
				parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(num), ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32})
				mu.Unlock()
			})
		}
		if last {
			break
		}
	}
	sending.Wait()
	if firstErr != nil {
		return firstErr
	}
	if sent != size {
		return core.Errorf(core.ErrInternal, op, "%d bytes of the %s envelope of key %q were sent, not %d", sent, r, keyID, size)
	}
	sort.Slice(parts, func(i, j int) bool { return *parts[i].PartNumber < *parts[j].PartNumber })
	_, err = a.s3.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket:          aws.String(a.bucket),
		Key:             aws.String(key),
		UploadId:        aws.String(uploadID),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
		MpuObjectSize:   aws.Int64(size),
		IfNoneMatch:     aws.String("*"),
	})
	if err == nil {
		undo.madeObject(key)
		return nil
	}
	return a.putFailed(ctx, op, "S3 CompleteMultipartUpload", key, size, err, undo)
}

// abortStrays aborts the pending multipart uploads of object key other than this
// save's own (in undo.uploads), which a retried CreateMultipartUpload may have left:
// an attempt started one and its answer was lost. Uploads carry no token to tell whose
// they are, so they are aborted only when this save holds the key id's lock (it
// created SecKey's secret, so no other save of the key id is writing objects); else
// they are listed, as what may be left. It returns what it could not abort.
func (a *AWS) abortStrays(ctx context.Context, key string, undo *saveUndo) (left []string) {
	undo.mu.Lock()
	own := undo.uploads[key]
	undo.mu.Unlock()
	url := fmt.Sprintf("s3://%s/%s", a.bucket, key)
	in := &s3.ListMultipartUploadsInput{Bucket: aws.String(a.bucket), Prefix: aws.String(key)}
	for {
		out, err := a.s3.ListMultipartUploads(ctx, in)
		if err != nil {
			return append(left, fmt.Sprintf("the multipart uploads of %s (S3 ListMultipartUploads: %s)", url, a.codeOr(err)))
		}
		for _, u := range out.Uploads {
			id := aws.ToString(u.UploadId)
			if aws.ToString(u.Key) != key || id == own {
				continue
			}
			if !undo.locked {
				left = append(left, fmt.Sprintf("multipart upload %s of %s (may be this save's)", id, url))
				continue
			}
			_, err := a.s3.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(a.bucket), Key: aws.String(key), UploadId: aws.String(id)})
			if err != nil && errorCode(err) != "NoSuchUpload" {
				left = append(left, fmt.Sprintf("multipart upload %s of %s (S3 AbortMultipartUpload: %s)", id, url, a.codeOr(err)))
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			return left
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}

// undoSave removes what a failed Save created, and what it may have created where a
// call's outcome is unknown: an object or a secret carrying this save's token, an
// upload a retried CreateMultipartUpload may have started. Secrets go without a
// recovery window, so their names are free at once. It runs even when ctx is
// cancelled.
func (a *AWS) undoSave(ctx context.Context, u *saveUndo) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	var left []string
	// Multipart uploads first: aborting one frees its parts. NoSuchUpload means it was
	// completed after all (an answer lost: see maybeS3) or already aborted.
	for key, id := range u.uploads {
		_, err := a.s3.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(a.bucket), Key: aws.String(key), UploadId: aws.String(id)})
		if err != nil && errorCode(err) != "NoSuchUpload" {
			left = append(left, fmt.Sprintf("multipart upload %s of s3://%s/%s (S3 AbortMultipartUpload: %s)", id, a.bucket, key, a.codeOr(err)))
		}
	}
	for key := range u.strays {
		left = append(left, a.abortStrays(ctx, key, u)...)
	}
	for key, size := range u.maybeS3 {
		ours, err := a.ownObject(ctx, key, size, u.token)
		switch {
		case ours:
			u.objects = append(u.objects, key)
		case err != nil:
			left = append(left, fmt.Sprintf("s3://%s/%s if it is this save's (S3 HeadObject: %s; it is if its x-amz-meta-%s is %s)", a.bucket, key, a.codeOr(err), saveTokenKey, u.token))
		}
	}
	for name := range u.maybeSM {
		d, err := a.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
		switch {
		case err == nil && hasVersion(d, u.token):
			u.secrets = append(u.secrets, name)
		case err != nil && errorCode(err) != "ResourceNotFoundException":
			left = append(left, fmt.Sprintf("secret %s if it is this save's (Secrets Manager DescribeSecret: %s; it is if it has version %s)", name, a.codeOr(err), u.token))
		}
	}
	for _, key := range u.objects {
		if _, err := a.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(a.bucket), Key: aws.String(key)}); err != nil {
			left = append(left, fmt.Sprintf("s3://%s/%s (S3 DeleteObject: %s)", a.bucket, key, a.codeOr(err)))
		}
	}
	// The secrets last: SecKey's is the lock of the key id. ResourceNotFoundException
	// means a retry found it already deleted (an answer lost).
	for _, name := range u.secrets {
		_, err := a.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(name), ForceDeleteWithoutRecovery: aws.Bool(true)})
		if err != nil && errorCode(err) != "ResourceNotFoundException" {
			left = append(left, fmt.Sprintf("secret %s (Secrets Manager DeleteSecret: %s)", name, a.codeOr(err)))
		}
	}
	if len(left) > 0 {
		sort.Strings(left)
		return fmt.Errorf("could not remove what the failed save created, remove by hand: %s", strings.Join(left, ", "))
	}
	return nil
}

// codeOr is err's AWS error code, or without one what went wrong (see
// describeAWSError).
func (a *AWS) codeOr(err error) string {
	if c := errorCode(err); c != "" {
		return c
	}
	return describeAWSError(err, a.region, true)
}

// --- loading ---

// Load reads roles of key set keyID (see Store.Load); all roles are fetched at once.
func (a *AWS) Load(ctx context.Context, keyID string, roles ...core.Role) (*core.KeySet, error) {
	return a.LoadWithOptions(ctx, keyID, core.ParseOptions{}, roles...)
}

// LoadWithOptions is Load with parse options (e.g. inactive keys for inspection); a set
// caught in the middle of an Update is read again.
func (a *AWS) LoadWithOptions(ctx context.Context, keyID string, opts core.ParseOptions, roles ...core.Role) (*core.KeySet, error) {
	return a.loadSettled(ctx, keyID, opts, roles...)
}

// loadOnce reads key set keyID once.
func (a *AWS) loadOnce(ctx context.Context, keyID string, opts core.ParseOptions, roles ...core.Role) (*core.KeySet, error) {
	if err := core.CheckKeyID(keyID); err != nil {
		return nil, err
	}
	sources, closeAll, err := a.openEnvelopes(ctx, keyID, roles)
	if err != nil {
		return nil, err
	}
	defer closeAll()
	// The objects' bodies are parsed as they stream in: an EvalKey of any size is held
	// once, as key bytes (not at all when the caller only inspects).
	ks, err := core.ReadKeySet(keyID, sources, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", a, err)
	}
	return ks, nil
}

// openEnvelopes fetches the secrets and opens the objects of roles of key set keyID
// (nil: every role, SecKey, EncKey and EvalKey required) all at once, for loadOnce and
// for Copy and ExportPublic. The first fetch to fail cancels the others, and the error
// returned is a failure's own, not a cancellation it caused (see cmpOr); otherwise a
// missing required secret or object is core.ErrNotFound naming every one missing. The objects' bodies are read as streams
// until closeAll, which closes them, zeroes the fetched secrets and ends the fetches'
// context; on an error all that is already done.
func (a *AWS) openEnvelopes(ctx context.Context, keyID string, roles []core.Role) (sources map[core.Role]core.EnvelopeSource, closeAll func(), err error) {
	op := "store.aws.Load"
	want, required := rolesToLoad(roles)
	ctx, cancel := context.WithCancel(ctx)
	type result struct {
		src     core.EnvelopeSource
		secret  []byte
		body    io.Closer
		missing string // why the role is absent, when it is
		err     error
	}
	results := make([]result, len(want))
	closeAll = func() {
		for _, res := range results {
			if res.body != nil {
				res.body.Close()
			}
			clear(res.secret)
		}
		cancel()
	}
	var wg sync.WaitGroup
	for i, r := range want {
		wg.Go(func() {
			var res result
			if r.Secret() {
				res.secret, res.missing, res.err = a.getSecret(ctx, op, keyID, r)
				if res.secret != nil {
					res.src = core.EnvelopeSource{R: bytes.NewReader(res.secret), Size: int64(len(res.secret))}
				}
			} else {
				res.src, res.body, res.missing, res.err = a.getObject(ctx, op, keyID, r)
			}
			if res.err != nil {
				cancel()
			}
			results[i] = res
		})
	}
	wg.Wait()
	sources = map[core.Role]core.EnvelopeSource{}
	var missing []string
	var firstErr error
	for i, r := range want {
		res := results[i]
		if res.src.R != nil {
			sources[r] = res.src
		}
		switch {
		case res.err != nil:
			firstErr = cmpOr(firstErr, res.err)
		case res.missing != "" && required[r]:
			missing = append(missing, res.missing)
		}
	}
	if firstErr != nil {
		closeAll()
		return nil, nil, firstErr
	}
	if len(missing) > 0 {
		closeAll()
		return nil, nil, core.Errorf(core.ErrNotFound, op, "key set %q is incomplete or absent in region %s: missing %s", keyID, a.region, strings.Join(missing, ", "))
	}
	return sources, closeAll, nil
}

// cmpOr keeps the first error, preferring one that is not a cancellation caused by
// another fetch's failure.
func cmpOr(have, next error) error {
	if have == nil || (errors.Is(have, context.Canceled) && !errors.Is(next, context.Canceled)) {
		return next
	}
	return have
}

// getSecret returns the SecretString of role r's secret; missing describes an absent
// one.
func (a *AWS) getSecret(ctx context.Context, op, keyID string, r core.Role) (data []byte, missing string, err error) {
	name := a.SecretName(keyID, r)
	out, err := a.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
	if err != nil {
		switch errorCode(err) {
		case "ResourceNotFoundException":
			return nil, "secret " + name, nil
		case "InvalidRequestException":
			// What AWS answers for a secret scheduled for deletion.
			d, derr := a.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
			if derr == nil && d.DeletedDate != nil {
				return nil, fmt.Sprintf("secret %s (scheduled for deletion on %s)", name, d.DeletedDate.UTC().Format(time.RFC3339)), nil
			}
		}
		return nil, "", a.remoteError(op, err, "Secrets Manager GetSecretValue", "secret "+name)
	}
	if out.SecretString == nil {
		return nil, "", core.Errorf(core.ErrCorrupt, op, "secret %s holds binary data, not the %s envelope JSON", name, r)
	}
	return []byte(*out.SecretString), "", nil
}

// getObject opens role r's object: its body, to be read as a stream and closed by the
// caller; missing describes an absent one.
func (a *AWS) getObject(ctx context.Context, op, keyID string, r core.Role) (src core.EnvelopeSource, body io.Closer, missing string, err error) {
	key := a.ObjectKey(keyID, r)
	url := fmt.Sprintf("s3://%s/%s", a.bucket, key)
	out, err := a.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(a.bucket), Key: aws.String(key)})
	if err != nil {
		if errorCode(err) == "NoSuchKey" {
			return src, nil, "object " + url, nil
		}
		return src, nil, "", a.remoteError(op, err, "S3 GetObject", url)
	}
	rd := &remoteBody{r: out.Body, fail: func(err error) error {
		return a.remoteError(op, err, "S3 GetObject (reading the body)", url)
	}}
	return core.EnvelopeSource{R: rd, Size: aws.ToInt64(out.ContentLength)}, out.Body, "", nil
}

// remoteBody turns a failure to read an object's body into the store's remote error.
type remoteBody struct {
	r    io.Reader
	fail func(error) error
}

func (b *remoteBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = b.fail(err)
	}
	return n, err
}

// --- presence ---

// presence is what is stored of one key set.
type presence struct {
	objects   map[core.Role]bool       // public roles whose object exists
	secrets   map[core.Role]bool       // secret roles whose secret exists, live
	scheduled map[core.Role]*time.Time // secret roles whose secret is scheduled for deletion
}

// probe finds which of key set keyID's objects and secrets exist: one listing of
// <prefix>/<key_id>/ and one DescribeSecret per secret role, at once.
func (a *AWS) probe(ctx context.Context, op, keyID string) (*presence, error) {
	p := &presence{objects: map[core.Role]bool{}, secrets: map[core.Role]bool{}, scheduled: map[core.Role]*time.Time{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, 3)
	wg.Go(func() {
		dir := a.join(keyID) + "/"
		out, err := a.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(a.bucket), Prefix: aws.String(dir), MaxKeys: aws.Int32(1000)})
		if err != nil {
			errs[0] = a.remoteError(op, err, "S3 ListObjectsV2", fmt.Sprintf("s3://%s/%s", a.bucket, dir))
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, o := range out.Contents {
			for _, r := range []core.Role{core.EncKey, core.EvalKey} {
				if aws.ToString(o.Key) == a.ObjectKey(keyID, r) {
					p.objects[r] = true
				}
			}
		}
	})
	for i, r := range []core.Role{core.SecKey, core.MetadataKey} {
		wg.Go(func() {
			name := a.SecretName(keyID, r)
			d, err := a.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errorCode(err) == "ResourceNotFoundException":
			case err != nil:
				errs[1+i] = a.remoteError(op, err, "Secrets Manager DescribeSecret", "secret "+name)
			case d.DeletedDate != nil:
				p.scheduled[r] = d.DeletedDate
			default:
				p.secrets[r] = true
			}
		})
	}
	wg.Wait()
	if err := joinRemote(errs...); err != nil {
		return nil, err
	}
	return p, nil
}

// Exists reports whether SecKey's secret (not scheduled for deletion) and the EncKey
// and EvalKey objects are all present.
func (a *AWS) Exists(ctx context.Context, keyID string) (bool, error) {
	if err := core.CheckKeyID(keyID); err != nil {
		return false, err
	}
	p, err := a.probe(ctx, "store.aws.Exists", keyID)
	if err != nil {
		return false, err
	}
	return p.secrets[core.SecKey] && p.objects[core.EncKey] && p.objects[core.EvalKey], nil
}

// CheckAbsent fails with core.ErrExists if anything of key set keyID is stored: an
// object, a secret, or a secret scheduled for deletion (whose name cannot be reused
// until it is gone). Save checks the same as it goes; CheckAbsent lets a caller fail
// before the work of generating keys. It changes nothing.
func (a *AWS) CheckAbsent(ctx context.Context, keyID string) error {
	op := "store.aws.CheckAbsent"
	if err := core.CheckKeyID(keyID); err != nil {
		return err
	}
	p, err := a.probe(ctx, op, keyID)
	if err != nil {
		return err
	}
	for _, r := range []core.Role{core.SecKey, core.MetadataKey} {
		if when := p.scheduled[r]; when != nil {
			return scheduledError(op, keyID, a.SecretName(keyID, r), *when, nil)
		}
	}
	var found []string
	for _, r := range core.AllRoles {
		if p.objects[r] || p.secrets[r] {
			found = append(found, a.where(keyID, r))
		}
	}
	if len(found) > 0 {
		return core.Errorf(core.ErrExists, op, "key set %q is already stored (%s); keys are never overwritten (choose another key id, or delete the old key set)", keyID, strings.Join(found, ", "))
	}
	return nil
}

// --- deleting and listing ---

// Delete removes key set keyID: its objects at once, then its secrets, scheduled for
// deletion after the recovery window (their names stay taken until then, and
// RestoreSecret brings them back), or at once with opts.Immediate. Secrets already
// scheduled for deletion are left as they are, or removed at once with
// opts.Immediate. Other objects under <prefix>/<key_id>/ are left alone. A key set of
// which nothing is stored is core.ErrNotFound.
func (a *AWS) Delete(ctx context.Context, keyID string, opts DeleteOptions) error {
	op := "store.aws.Delete"
	if err := core.CheckKeyID(keyID); err != nil {
		return err
	}
	if err := a.deleteVersions(ctx, op, keyID, opts); err != nil {
		return err
	}
	p, err := a.probe(ctx, op, keyID)
	if err != nil {
		return err
	}
	// Objects first (both at once), then secrets (both at once): SecKey's secret, the
	// lock of Save, goes last.
	var removed atomic.Int32
	var pending []string
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, r := range []core.Role{core.EncKey, core.EvalKey} {
		if !p.objects[r] {
			continue
		}
		wg.Go(func() {
			key := a.ObjectKey(keyID, r)
			if _, err := a.s3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(a.bucket), Key: aws.String(key)}); err != nil {
				errs[i] = a.remoteError(op, err, "S3 DeleteObject", fmt.Sprintf("s3://%s/%s", a.bucket, key))
				return
			}
			removed.Add(1)
		})
	}
	wg.Wait()
	if err := joinRemote(errs...); err != nil {
		return err
	}
	for i, r := range []core.Role{core.SecKey, core.MetadataKey} {
		name := a.SecretName(keyID, r)
		in := &secretsmanager.DeleteSecretInput{SecretId: aws.String(name)}
		switch {
		case opts.Immediate && (p.secrets[r] || p.scheduled[r] != nil):
			in.ForceDeleteWithoutRecovery = aws.Bool(true)
		case p.secrets[r]:
			in.RecoveryWindowInDays = aws.Int64(int64(a.recoveryDays))
		case p.scheduled[r] != nil:
			pending = append(pending, fmt.Sprintf("%s (on %s)", name, p.scheduled[r].UTC().Format(time.RFC3339)))
			continue
		default:
			continue
		}
		wg.Go(func() {
			if _, err := a.sm.DeleteSecret(ctx, in); err != nil {
				errs[i] = a.remoteError(op, err, "Secrets Manager DeleteSecret", "secret "+name)
				return
			}
			removed.Add(1)
		})
	}
	wg.Wait()
	if err := joinRemote(errs...); err != nil {
		return err
	}
	if removed.Load() == 0 {
		if len(pending) > 0 {
			return core.Errorf(core.ErrNotFound, op, "key set %q is already deleted: its secrets are scheduled for deletion: %s; use immediate deletion (CLI: delete --immediate) to remove them now", keyID, strings.Join(pending, ", "))
		}
		return core.Errorf(core.ErrNotFound, op, "no key set %q in %s", keyID, a)
	}
	return nil
}

// RecoveryWindowDays returns how many days a deleted secret stays recoverable.
func (a *AWS) RecoveryWindowDays() int { return a.recoveryDays }

// List returns, sorted, the ids of the key sets of which anything is stored, complete
// or not (the key ids of ListSets).
func (a *AWS) List(ctx context.Context) ([]string, error) {
	sets, err := a.listSets(ctx, "store.aws.List")
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(sets))
	for _, s := range sets {
		ids = append(ids, s.KeyID)
	}
	return ids, nil
}

var _ Store = (*AWS)(nil)

// ListSets describes, sorted by key id, each key id of which anything is stored: an
// object <prefix>/<key_id>/enc_blob.json or eval_blob.json, or a secret
// <prefix>/<key_id>/sec_blob or metadata_blob not scheduled for deletion (see
// Store.ListSets). So a set a crash left with only its secrets is listed, as
// incomplete. It makes one listing of the objects under <prefix>/ and one of the
// secrets whose names start with <prefix>/ (ListSecrets with a name filter), at once.
// Versions are the earlier versions kept under <prefix>/<key_id>/versions/<n>/.
func (a *AWS) ListSets(ctx context.Context) ([]Listing, error) {
	return a.listSets(ctx, "store.aws.ListSets")
}

func (a *AWS) listSets(ctx context.Context, op string) ([]Listing, error) {
	dir := ""
	if a.prefix != "" {
		dir = a.prefix + "/"
	}
	var mu sync.Mutex
	found := map[string]map[core.Role]bool{}
	versions := map[string]map[int]bool{}
	// add records name (an object key or secret name) if it is role r's of a key id.
	add := func(name string, roles []core.Role, suffix string) {
		id, blob, ok := strings.Cut(strings.TrimPrefix(name, dir), "/")
		if !ok || !strings.HasPrefix(name, dir) || core.CheckKeyID(id) != nil {
			return
		}
		for _, r := range roles {
			if blob == r.BlobName()+suffix {
				mu.Lock()
				if found[id] == nil {
					found[id] = map[core.Role]bool{}
				}
				found[id][r] = true
				mu.Unlock()
			}
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Go(func() {
		pages := s3.NewListObjectsV2Paginator(a.s3, &s3.ListObjectsV2Input{Bucket: aws.String(a.bucket), Prefix: aws.String(dir)})
		for pages.HasMorePages() {
			out, err := pages.NextPage(ctx)
			if err != nil {
				errs[0] = a.remoteError(op, err, "S3 ListObjectsV2", fmt.Sprintf("s3://%s/%s", a.bucket, dir))
				return
			}
			for _, o := range out.Contents {
				key := aws.ToString(o.Key)
				add(key, []core.Role{core.EncKey, core.EvalKey}, ".json")
				id, rest, _ := strings.Cut(strings.TrimPrefix(key, dir), "/")
				if num, ok := strings.CutPrefix(rest, "versions/"); ok && core.CheckKeyID(id) == nil {
					num, _, _ = strings.Cut(num, "/")
					if n, ok := versionNumber(num); ok {
						mu.Lock()
						if versions[id] == nil {
							versions[id] = map[int]bool{}
						}
						versions[id][n] = true
						mu.Unlock()
					}
				}
			}
		}
	})
	wg.Go(func() {
		// Secrets scheduled for deletion are not listed (IncludePlannedDeletion is
		// false): their key set is deleted. The name filter is a prefix match that
		// ignores case, so add checks the prefix again.
		in := &secretsmanager.ListSecretsInput{MaxResults: aws.Int32(100)}
		if dir != "" {
			in.Filters = []smtypes.Filter{{Key: smtypes.FilterNameStringTypeName, Values: []string{dir}}}
		}
		pages := secretsmanager.NewListSecretsPaginator(a.sm, in)
		for pages.HasMorePages() {
			out, err := pages.NextPage(ctx)
			if err != nil {
				errs[1] = a.remoteError(op, err, "Secrets Manager ListSecrets", fmt.Sprintf("secrets named %s*", dir))
				return
			}
			for _, sec := range out.SecretList {
				if sec.DeletedDate == nil {
					add(aws.ToString(sec.Name), []core.Role{core.SecKey, core.MetadataKey}, "")
				}
			}
		}
	})
	wg.Wait()
	if err := joinRemote(errs...); err != nil {
		return nil, err
	}
	for id := range versions {
		if found[id] == nil {
			found[id] = map[core.Role]bool{}
		}
	}
	out := make([]Listing, 0, len(found))
	for id, have := range found {
		li := Listing{KeyID: id}
		for _, r := range core.AllRoles {
			if have[r] {
				li.Roles = append(li.Roles, r)
			}
		}
		for n := range versions[id] {
			li.Versions = append(li.Versions, n)
		}
		sort.Ints(li.Versions)
		li.Complete = completeRoles(li.Roles)
		out = append(out, li)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].KeyID < out[j].KeyID })
	return out, nil
}
