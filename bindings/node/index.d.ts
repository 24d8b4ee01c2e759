// Types of envector-keys, the Node binding of libenvector.
//
// Every method that does real work returns a Promise and runs its calls into the
// library on koffi's worker threads, so the event loop keeps turning; the *Sync
// variants make the same calls on the calling thread (fine in scripts and worker
// threads; from the main thread of a server they block it).

/// <reference types="node" />

/** The four keys of a key set, in the library's role order. */
export type Role = 'SecKey' | 'EncKey' | 'EvalKey' | 'MetadataKey';
export const ROLES: readonly Role[];

/**
 * enVector's parameter preset: 'ip3' (the default, as enVector's SDK), 'ip2', 'ip1', 'ip0',
 * 'ip' (= ip0), 'qf0' or 'qf1' (= qf0 in enVector; its keys say QF0), 'qf' (= qf0); lower
 * or upper case.
 */
export type Preset = 'ip3' | 'ip2' | 'ip1' | 'ip0' | 'ip' | 'qf0' | 'qf1' | 'qf' | 'IP3' | 'IP2' | 'IP1' | 'IP0' | 'IP' | 'QF0' | 'QF1' | 'QF';
/**
 * The evaluation keys (enVector's eval modes); any case. Left out, the preset's default:
 * 'mm32' with ip3 (so the defaults are ip3 with mm32, as enVector's SDK), 'mm' with ip1
 * and ip2, 'rmp' with ip0 and qf0. 'rmp' and 'flat' go with any preset, 'single' with ip0,
 * 'mm' also with ip0 and qf0, 'mms' with ip1 and ip2, 'mms32' with ip3; a pair that does not go together (ip1 with mm32, ip3 with mm) is an
 * InvalidArgumentError naming the modes the preset takes. mm32 and mm EvalKeys hold
 * 4,096 key-switching keys: with ip3's mm32 a 1.2 GB EvalKey, which generateKeys()
 * writes in ~7 s with little memory and generateKeysStream() (and init, which returns
 * the keys) holds in memory (~12 s, ~5 GB at peak); { preset: 'ip0', evalMode: 'rmp',
 * dimList: [32] } makes a small set (a 4.7 MB EvalKey) in milliseconds.
 */
export type EvalMode = 'mm32' | 'mm' | 'mms' | 'mms32' | 'rmp' | 'flat' | 'single' | 'MM32' | 'MM' | 'MMS' | 'MMS32' | 'RMP' | 'FLAT' | 'SINGLE';
/**
 * 'none' or 'aes': seal SecKey and MetadataKey with AES-256-GCM under a KEK (kek or
 * sealKekPath). Left out: 'aes' when a KEK is given, 'none' otherwise.
 */
export type SealMode = 'none' | 'aes';
/** 'local' (default): <keyPath>/<keyId>/*.json; 'aws': S3 + Secrets Manager. */
export type KeyStore = 'local' | 'aws';

/**
 * The envelopes of a key set: the JSON bytes of its key files / remote blobs. Secret
 * ones (secBlob, metadataBlob) hold the secret in the clear unless the key set is
 * sealed. They are the caller's Buffers: wipe them (buf.fill(0)) when done.
 */
export interface KeyBlobs {
  secBlob: Buffer;
  encBlob: Buffer;
  evalBlob: Buffer;
  /** null when the key set has no MetadataKey (metadataEncryption: false). */
  metadataBlob: Buffer | null;
}

/** KeyBlobs of a partial load: roles not asked for are null. */
export type PartialKeyBlobs = { [K in keyof KeyBlobs]: Buffer | null };

/** Options that describe the keys to make. */
export interface KeyOptions {
  /** Key set id: 1-128 of [A-Za-z0-9._-], starting with a letter or digit. */
  keyId: string;
  /** enVector's parameter preset (default 'ip3'). */
  preset?: Preset;
  /** The evaluation keys (default: the preset's, 'mm32' with ip3). */
  evalMode?: EvalMode;
  /** Vector dimensions to support: powers of two from 32 to 4096 (default all). */
  dimList?: number[];
  /** Make a MetadataKey (default true). true or false only: any other value is an InvalidArgumentError. */
  metadataEncryption?: boolean;
  /**
   * Seal the secret keys: 'aes' with kek or sealKekPath. Left out, 'aes' when a KEK is
   * given, else 'none'. A KEK with 'none', or 'aes' without one, is an InvalidArgumentError.
   */
  sealMode?: SealMode;
  /** File holding the KEK of sealMode 'aes': 32 raw bytes, 64 hex or 44 base64 characters (+ one newline). Not with kek. */
  sealKekPath?: string;
  /** 64 bytes (Buffer) or 128 hex characters: deterministic keys, for tests only. */
  seed?: Uint8Array | string;
  /**
   * How long the keys are usable (expiresAt), in days; fractions allowed (1/24 is an
   * hour). Accepted: 1 hour to 100 years; default 1825 (5 years, as enVector). An expired
   * key set is refused for use (KeyInactiveError).
   */
  lifetimeDays?: number;
}

/** Options that name a key store. */
export interface StoreOptions {
  keyStore?: KeyStore;
  /** Local store directory (default './keys'). */
  keyPath?: string;
  /** AWS region (keyStore 'aws': required), e.g. 'us-east-1'. */
  regionName?: string;
  /** S3 bucket (default 'envector-key-storage'). */
  bucketName?: string;
  /** S3 / Secrets Manager prefix (default 'envector/keys'; '' = none). */
  secretPrefix?: string;
  /**
   * keyStore 'aws' only: the longest one AWS request may go without progress, in seconds
   * (fractions allowed; more than 0, at most 3600; default 30). A request that times out
   * fails with RemoteStoreError.
   */
  awsTimeoutSeconds?: number;
}

export interface KeyGeneratorOptions extends KeyOptions {
  /** Where generateKeys() writes: <keyPath>/<keyId>/ (default './keys'). */
  keyPath?: string;
  /**
   * The KEK itself, in memory (instead of sealKekPath): a Buffer or Uint8Array of 32 raw
   * bytes, or 64 hex / 44 base64 characters (as bytes or a string). The keys are made
   * unsealed inside the library, sealed there, and only then returned or written. Its
   * form is checked by the constructor (InvalidArgumentError), before any key is made.
   * Your Buffer is kept by reference, neither copied nor wiped; a string is copied into
   * a Buffer for each call and wiped after it.
   */
  kek?: Uint8Array | string;
}

/** Makes key sets. Holds no native resource (nothing to close). */
export class KeyGenerator {
  constructor(options: KeyGeneratorOptions);
  readonly keyId: string;
  readonly keyPath: string | undefined;
  /** Generates the key set and saves it in <keyPath>/<keyId>/, all or nothing, never overwriting. */
  generateKeys(): Promise<void>;
  generateKeysSync(): void;
  /** Generates the key set in memory and returns its envelopes. */
  generateKeysStream(): Promise<KeyBlobs>;
  generateKeysStreamSync(): KeyBlobs;
}

export interface KeyManagerOptions extends StoreOptions {
  /** The key set the per-key methods work on (each also takes {keyId}). */
  keyId?: string;
}

export interface KeyIdOption {
  keyId?: string;
}

export interface LoadOptions extends KeyIdOption {
  /** Load only these roles (default: every role present). */
  roles?: Role[];
}

export interface DeleteOptions extends KeyIdOption {
  /** AWS: delete the secrets now, without Secrets Manager's recovery window. */
  immediate?: boolean;
}

export interface VerifyOptions extends KeyIdOption {
  /** The KEK of a sealed key set, as bytes or text (hex / base64). */
  kek?: Uint8Array | string;
  /** Or the file holding it. */
  sealKekPath?: string;
}

/** The states a key set moves through, one step at a time, in this order. */
export type KeyStateName = 'preparing' | 'active' | 'deactivated' | 'destroyed';

/** Who made a state change (as enVector's envelopes record it). */
export interface Requester {
  entity: string;
  method: string;
  type: string;
}

/** The life of a key set, as its envelopes record it (no key material). */
export interface KeyState {
  /** Envelopes that disagree (moved part way by another tool) give their states joined with '/'. */
  state: KeyStateName | (string & {});
  /** The key set's version under its key id (1 until rotated). */
  version: number;
  /** RFC 3339, UTC: the earliest expiry of its envelopes. */
  expiresAt: string | null;
  createdAt: string | null;
  /** The random id binding the set's envelopes (null for files without one, e.g. enVector's). */
  setId: string | null;
  /** The reason of the last state change (null when none was made). */
  reason: string | null;
  /** Whether the last state change recorded a compromise (reason 'compromised: ...'). */
  compromised: boolean;
  /** The time of the last state change (the creation when none was made). */
  updatedAt: string | null;
  /** Who made the last state change (null when none was made). */
  changedBy: Requester | null;
}

/** What a store holds under one key id (KeyManager.listSets). */
export interface KeySetListing {
  keyId: string;
  /** The roles present at the current names, in role order. */
  roles: Role[];
  /** SecKey, EncKey and EvalKey are present (delete() removes an incomplete set). */
  complete: boolean;
  /** The earlier versions kept by rotate(), oldest first (the current one is not listed). */
  versions: number[];
}

export interface StateOptions extends KeyIdOption {
  /** A version number, or 0 (default) for the current version. */
  version?: number;
}

export interface KekOptions {
  /** The KEK of a sealed key set, as bytes or text (hex / base64). */
  kek?: Uint8Array | string;
  /** Or the file holding it. */
  sealKekPath?: string;
}

export interface SetStateOptions extends KeyIdOption, KekOptions {
  /** Record that the keys are known or suspected exposed (with 'deactivated' or 'destroyed'). */
  compromised?: boolean;
}

export interface ResealOptions extends KeyIdOption, KekOptions {
  /** The new KEK, as bytes or text (hex / base64); or newSealKekPath. */
  newKek?: Uint8Array | string;
  /** The file holding the new KEK. */
  newSealKekPath?: string;
}

export interface RotateOptions extends KeyIdOption, KekOptions {
  /** Recorded in the earlier version as it is deactivated (default 'superseded by version N+1'). */
  reason?: string;
  /** The new set's parameters; none of preset, evalMode, dimList given: the current set's. */
  preset?: Preset;
  evalMode?: EvalMode;
  dimList?: number[];
  /** Make a MetadataKey (default true). */
  metadataEncryption?: boolean;
  lifetimeDays?: number;
  seed?: Uint8Array | string;
}

/** One JSON value: what decryptMetadata gives back with {asJson: true}. */
export type JSONValue = string | number | boolean | null | JSONValue[] | { [key: string]: JSONValue };

/**
 * What encryptMetadata takes: a string (encrypted as UTF-8), a Buffer or Uint8Array of
 * UTF-8 text (other bytes are refused), or a plain object or array, written with
 * JSON.stringify (compact, non-ASCII kept: what enVector's SDK writes).
 */
export type Metadata = string | Uint8Array | { [key: string]: any } | readonly unknown[];

export interface MetadataOptions extends KeyIdOption {
  /**
   * Associated data (e.g. the vector's id): bound to the token but not encrypted; a
   * string counts as its UTF-8 bytes. Decrypting needs the same value.
   */
  aad?: string | Uint8Array;
  /** The KEK of a sealed MetadataKey, as bytes or text (hex / base64). */
  kek?: Uint8Array | string;
  /** Or the file holding it. */
  sealKekPath?: string;
}

export interface DecryptMetadataOptions extends MetadataOptions {
  /** Resolve to the JSON value the metadata holds rather than its text (default false). */
  asJson?: boolean;
}

/** The options of the module functions: the key set, its store, and the metadata options. */
export interface MetadataStoreOptions extends StoreOptions, MetadataOptions {
  keyId: string;
}

export interface DecryptMetadataStoreOptions extends StoreOptions, DecryptMetadataOptions {
  keyId: string;
}

/**
 * A key store (a local directory, or AWS) and optionally the key id it works on. The
 * store is opened on first use (AWS_* variables set in process.env before then are
 * seen) and freed by close(); a finalizer frees it if close() is forgotten.
 */
export class KeyManager {
  constructor(options?: KeyManagerOptions);
  readonly keyId: string | null;
  readonly keyStore: KeyStore | string;
  readonly closed: boolean;
  /** Opens the store now rather than on first use (checks the options). */
  open(): Promise<this>;
  openSync(): this;
  /** Saves a key set under keyId: all or nothing, never overwriting (AlreadyExistsError). */
  save(keys: Partial<KeyBlobs>, options?: KeyIdOption): Promise<void>;
  saveSync(keys: Partial<KeyBlobs>, options?: KeyIdOption): void;
  /**
   * Loads the key set for use; every envelope is checked (CorruptDataError), nothing is
   * unsealed. A key set that is not active, or has expired, is refused (KeyInactiveError).
   */
  load(options?: KeyIdOption & { roles?: undefined }): Promise<KeyBlobs>;
  load(options: LoadOptions): Promise<PartialKeyBlobs>;
  loadSync(options?: KeyIdOption & { roles?: undefined }): KeyBlobs;
  loadSync(options: LoadOptions): PartialKeyBlobs;
  /** Deletes the key set (NotFoundError when there is none). */
  delete(options?: DeleteOptions): Promise<void>;
  deleteSync(options?: DeleteOptions): void;
  /** Whether a complete key set (SecKey, EncKey, EvalKey) is stored under keyId. */
  verifyKeyId(keyId?: string): Promise<boolean>;
  verifyKeyIdSync(keyId?: string): boolean;
  /** The key ids in the store, sorted. */
  listKeys(): Promise<string[]>;
  listKeysSync(): string[];
  /**
   * Loads the key set and proves its keys belong together: what EncKey encrypts,
   * SecKey decrypts, and every evaluation key is a key under SecKey. A sealed key set
   * needs its KEK. Resolves true or rejects (CorruptDataError, AuthenticationError, ...).
   */
  verify(options?: VerifyOptions): Promise<true>;
  verifySync(options?: VerifyOptions): true;
  /**
   * The state of the key set (the current version, or {version}) whatever it is: also of
   * one that load() refuses. Only its EncKey (public) is read.
   */
  state(options?: StateOptions): Promise<KeyState>;
  stateSync(options?: StateOptions): KeyState;
  /**
   * Moves the key set to state `to`, one step at a time: 'active' (from preparing),
   * 'deactivated' (from active: refused for use from then on) or 'destroyed' (from
   * deactivated: erases the secret keys). `reason` is required. A sealed key set needs its
   * KEK. All or nothing. Resolves to the state as stored now. InvalidArgumentError for a
   * step skipped or back; AuthenticationError for a wrong KEK.
   */
  setState(to: 'active' | 'deactivated' | 'destroyed', reason: string, options?: SetStateOptions): Promise<KeyState>;
  setStateSync(to: 'active' | 'deactivated' | 'destroyed', reason: string, options?: SetStateOptions): KeyState;
  /**
   * Seals the secret keys under a new KEK (unsealing with the current one first; none for
   * an unsealed set). The keys do not change. Only an active key set is resealed.
   */
  reseal(options: ResealOptions): Promise<void>;
  resealSync(options: ResealOptions): void;
  /**
   * Makes version n+1 of the key id and makes it current; version n is kept, deactivated
   * if it was active, readable with loadVersion(). Resolves to the new set's state.
   */
  rotate(options?: RotateOptions): Promise<KeyState>;
  rotateSync(options?: RotateOptions): KeyState;
  /**
   * Loads version `version` (0: the current one) whatever its state, as load() does. A
   * destroyed set's secret envelopes hold no key data.
   */
  loadVersion(version: number, options?: KeyIdOption & { roles?: undefined }): Promise<KeyBlobs>;
  loadVersion(version: number, options: LoadOptions): Promise<PartialKeyBlobs>;
  loadVersionSync(version: number, options?: KeyIdOption & { roles?: undefined }): KeyBlobs;
  loadVersionSync(version: number, options: LoadOptions): PartialKeyBlobs;
  /** What the store holds under each key id, sorted: roles, completeness, earlier versions. */
  listSets(): Promise<KeySetListing[]>;
  listSetsSync(): KeySetListing[];
  /**
   * Encrypts one metadata value with the key set's MetadataKey: resolves to enVector's
   * token (standard base64). Only the MetadataKey is loaded; a sealed one needs its KEK.
   */
  encryptMetadata(metadata: Metadata, options?: MetadataOptions): Promise<string>;
  encryptMetadataSync(metadata: Metadata, options?: MetadataOptions): string;
  /**
   * Decrypts a token (base64, or its JSON form) with the key set's MetadataKey: resolves
   * to the text, or with {asJson: true} to the JSON value. AuthenticationError for
   * another MetadataKey, other aad or an altered token.
   */
  decryptMetadata(token: string | Uint8Array, options?: DecryptMetadataOptions & { asJson?: false }): Promise<string>;
  decryptMetadata(token: string | Uint8Array, options: DecryptMetadataOptions & { asJson: true }): Promise<JSONValue>;
  decryptMetadata(token: string | Uint8Array, options?: DecryptMetadataOptions): Promise<string | JSONValue>;
  decryptMetadataSync(token: string | Uint8Array, options?: DecryptMetadataOptions & { asJson?: false }): string;
  decryptMetadataSync(token: string | Uint8Array, options: DecryptMetadataOptions & { asJson: true }): JSONValue;
  decryptMetadataSync(token: string | Uint8Array, options?: DecryptMetadataOptions): string | JSONValue;
  /** Frees the store. Idempotent; any later call throws ClosedError. */
  close(): void;
  [Symbol.dispose](): void;
}

/**
 * What init() tells register() about a new key set: the key settings given (no seed), and
 * the key set's registrationInfo (its parameters as made, its EvalKey's digest).
 */
export interface RegisterInfo extends Omit<Partial<KeyOptions>, 'seed' | keyof RegistrationInfo>, StoreOptions, RegistrationInfo {}

/** A key set's registration facts, as init() reports them and register() receives them. */
export interface RegistrationInfo {
  keyId: string;
  /** Our names, lower case: 'ip3', 'mm32'. */
  preset: Preset;
  evalMode: EvalMode;
  dimList: number[];
  /** enVector's names, as a server's key endpoint takes them: 'IP3', 'MM32'. */
  envectorPreset: string;
  envectorEvalMode: string;
  /** This call made the key set. */
  created: boolean;
  sealed: boolean;
  /** Hex SHA-256 and length of the raw EvalKey (what register_key sends). */
  evalKeySha256: string;
  evalKeySize: number;
}

export interface InitOptions extends KeyOptions, StoreOptions {
  /**
   * true (default): use the key set if it exists, else generate it, seal it (sealMode
   * 'aes' with sealKekPath or kek) and save it. false: the key set must exist
   * (NotFoundError naming where it looked and how to make one).
   */
  autoKeySetup?: boolean;
  /**
   * The KEK (instead of sealKekPath): a Buffer of 32 raw bytes, or 64 hex / 44 base64
   * characters. It seals a key set init makes; a sealed key set found must open under it
   * (AuthenticationError otherwise), and one found with no KEK is an InvalidArgumentError.
   */
  kek?: Uint8Array | string;
  /**
   * The enVector server whose key endpoint gets the EvalKey: host:port,
   * grpc://host:port (plaintext) or grpcs://host:port (TLS). The EvalKey is sent only if
   * the server has no key of that id (one it has must be this EvalKey: AlreadyExistsError
   * otherwise); the other loaded keys are unloaded and this one loaded. If it fails and
   * init made the key set, the set is deleted again (AuthenticationError for a refused
   * token). Not with register.
   */
  address?: string;
  /** The server's bearer token (never shown in a message). */
  token?: string;
  /** A file holding the server's bearer token (instead of token). */
  tokenFile?: string;
  /** Connect with TLS (default false; grpcs:// also means TLS). */
  tls?: boolean;
  /** PEM certificates to trust for the server's certificate instead of the system's. */
  caFile?: string;
  /** Seconds each call to the server may take, the upload aside (default 30). */
  timeoutSeconds?: number;
  /** Seconds the EvalKey's upload may take (default 1800). */
  registerTimeoutSeconds?: number;
  /**
   * Instead of address: called once after a new key set was made and saved, e.g. to
   * register its EvalKey some other way. If it throws (or rejects), init deletes the key
   * set it just made, so that the next init starts clean, and rejects with that error.
   * With initSync it must not return a Promise.
   */
  register?: (keyId: string, evalKey: Buffer, info: RegisterInfo) => void | Promise<void>;
}

export interface InitResult {
  keyId: string;
  /** true when this call generated and saved the key set. */
  created: boolean;
  /** true when the EvalKey was sent to the server now, or register was called (and succeeded). */
  registered: boolean;
  sealed: boolean;
  /** The key set's version under its key id (1 until rotated). */
  version: number;
  /** As the key set records them (a key set found keeps its own, whatever the options say). */
  preset: Preset;
  evalMode: EvalMode;
  dimList: number[];
  metadataEncryption: boolean;
  /** Hex SHA-256 and length of the raw EvalKey. */
  evalKeySha256: string;
  evalKeySize: number;
  /** The server (grpc://host:port or grpcs://host:port), or null without address. */
  address: string | null;
  /** The key was loaded on the server now (false: it was loaded already, or no address). */
  loaded: boolean;
  /** The other keys unloaded on the server. */
  unloaded: string[];
  /** The server's warnings (successes with a message). */
  warnings: string[];
  registrationInfo: RegistrationInfo;
  /**
   * The key set's envelopes, read from the store on first access (synchronously, then
   * kept; an ip3/mm32 EvalKey is 1.2 GB). Not enumerable.
   */
  readonly keys: KeyBlobs;
  /** keys, read asynchronously. */
  loadKeys(): Promise<KeyBlobs>;
}

/**
 * enVector's client start-up in one library call (envector_init): finds key set keyId in
 * the store, or with autoKeySetup generates, seals and saves it; then, with address, makes
 * that server hold and use its EvalKey. A key set found that is not active is a
 * KeyInactiveError, never replaced. Two processes at once for one key id end with one key
 * set, registered once.
 */
export function init(options: InitOptions): Promise<InitResult>;
/** init(), blocking the calling thread. */
export function initSync(options: InitOptions): InitResult;
/** init() under the enVector SDK's other name: same options, same behaviour. */
export function initIndexConfig(options: InitOptions): Promise<InitResult>;
/** initSync() under the enVector SDK's other name. */
export function initIndexConfigSync(options: InitOptions): InitResult;

/**
 * Encrypts one metadata value with the MetadataKey of key set options.keyId, in the store
 * the options name, and resolves to the token enVector stores beside the vector: standard
 * base64 of the JSON {"encrypted_data", "iv", "tag"} (AES-256-GCM, a fresh random IV),
 * which enVector's SDK decrypts, as it does the other way round. Rejects with
 * InvalidArgumentError (metadata not UTF-8 text, a sealed MetadataKey without its KEK),
 * NotFoundError (no key set, or one made with metadataEncryption: false),
 * AuthenticationError (wrong KEK).
 */
export function encryptMetadata(metadata: Metadata, options: MetadataStoreOptions): Promise<string>;
export function encryptMetadataSync(metadata: Metadata, options: MetadataStoreOptions): string;
/**
 * Decrypts a metadata token (of encryptMetadata or enVector's SDK) with the MetadataKey of
 * key set options.keyId and the aad it was made with: resolves to the text, or with
 * {asJson: true} to the JSON value. Rejects with AuthenticationError (another MetadataKey,
 * other aad, an altered token, a wrong KEK), InvalidArgumentError (a token of another
 * shape), NotFoundError, CorruptDataError (not UTF-8 text; with asJson, not JSON).
 */
export function decryptMetadata(token: string | Uint8Array, options: DecryptMetadataStoreOptions & { asJson?: false }): Promise<string>;
export function decryptMetadata(token: string | Uint8Array, options: DecryptMetadataStoreOptions & { asJson: true }): Promise<JSONValue>;
export function decryptMetadata(token: string | Uint8Array, options: DecryptMetadataStoreOptions): Promise<string | JSONValue>;
export function decryptMetadataSync(token: string | Uint8Array, options: DecryptMetadataStoreOptions & { asJson?: false }): string;
export function decryptMetadataSync(token: string | Uint8Array, options: DecryptMetadataStoreOptions & { asJson: true }): JSONValue;
export function decryptMetadataSync(token: string | Uint8Array, options: DecryptMetadataStoreOptions): string | JSONValue;

/** The version of the loaded libenvector, e.g. "0.3.0" (the VERSION file of its checkout). */
export function libraryVersion(): string;
/** The library file loaded (or 'libenvector.so.0' when found on the system path). */
export const libraryPath: string;

/** C status names, as in include/envector.h. */
export type ErrorCode =
  | 'ENVECTOR_ERR_INVALID_ARGUMENT'
  | 'ENVECTOR_ERR_NOT_FOUND'
  | 'ENVECTOR_ERR_ALREADY_EXISTS'
  | 'ENVECTOR_ERR_AUTH'
  | 'ENVECTOR_ERR_CORRUPT'
  | 'ENVECTOR_ERR_IO'
  | 'ENVECTOR_ERR_REMOTE'
  | 'ENVECTOR_ERR_INTERNAL'
  | 'ENVECTOR_ERR_KEY_INACTIVE';

/** The base class of every error this package throws. */
export class EnvectorError extends Error {
  constructor(message: string, status?: number, code?: ErrorCode, options?: ErrorOptions);
  /** The C status name, e.g. 'ENVECTOR_ERR_NOT_FOUND'. */
  code: ErrorCode;
  /** The C status number (ENVECTOR_ERR_*). */
  status: number;
}
/** The caller passed something not accepted (status 1). */
export class InvalidArgumentError extends EnvectorError {
  constructor(message: string, options?: ErrorOptions);
}
/** A key set, role, file, object or secret is absent (status 2). */
export class NotFoundError extends EnvectorError {
  constructor(message: string, options?: ErrorOptions);
}
/** The target holds keys already; nothing was overwritten (status 3). */
export class AlreadyExistsError extends EnvectorError {
  constructor(message: string, options?: ErrorOptions);
}
/** Wrong KEK or altered sealed data; or AWS refused the credentials (status 4). */
export class AuthenticationError extends EnvectorError {
  constructor(message: string, options?: ErrorOptions);
}
/** Data does not parse or does not check out (status 5). */
export class CorruptDataError extends EnvectorError {
  constructor(message: string, options?: ErrorOptions);
}
/** The local file system failed (status 6). */
export class StorageIOError extends EnvectorError {
  constructor(message: string, options?: ErrorOptions);
}
/** A remote store (AWS) failed; the message names the bucket, object or secret (status 7). */
export class RemoteStoreError extends EnvectorError {
  constructor(message: string, options?: ErrorOptions);
}
/** A bug or broken invariant inside the library (status 8, and unknown statuses). */
export class InternalError extends EnvectorError {
  constructor(message: string, options?: ErrorOptions);
}
/**
 * The key set is not active (preparing, deactivated, destroyed) or has expired, so it is
 * refused for use (status 9); state() and loadVersion() read it whatever its state.
 */
export class KeyInactiveError extends EnvectorError {
  constructor(message: string, options?: ErrorOptions);
}
/** Use of a KeyManager after close(). */
export class ClosedError extends InvalidArgumentError {}
