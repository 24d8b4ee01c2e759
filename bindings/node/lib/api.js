'use strict';
// The public API: KeyGenerator, KeyManager, init, initIndexConfig, encryptMetadata and
// decryptMetadata. Options are translated to the library's options JSON (camelCase ->
// snake_case) and checked by the library; nothing here knows what a valid preset, dim,
// KEK or token is.

const fs = require('node:fs');
const { ROLES, DELETE_IMMEDIATE } = require('./native');
const { STATUS, InvalidArgumentError, NotFoundError, AlreadyExistsError, ClosedError, CorruptDataError, shown, shownText } = require('./errors');
const { js, release, detach, runSync, runAsync, soft, call } = require('./run');
const ops = require('./ops');

// camelCase option -> the options JSON key of include/envector.h.
const OPTION_KEYS = Object.freeze({
  keyId: 'key_id',
  preset: 'preset',
  evalMode: 'eval_mode',
  dimList: 'dim_list',
  metadataEncryption: 'metadata_encryption',
  sealMode: 'seal_mode',
  sealKekPath: 'seal_kek_path',
  keyStore: 'key_store',
  keyPath: 'key_path',
  regionName: 'region_name',
  bucketName: 'bucket_name',
  secretPrefix: 'secret_prefix',
  seed: 'seed',
  lifetimeDays: 'lifetime_days',
  // init
  autoKeySetup: 'auto_key_setup',
  address: 'address',
  tokenFile: 'token_file',
  tls: 'tls',
  caFile: 'ca_file',
  timeoutSeconds: 'timeout_seconds',
  registerTimeoutSeconds: 'register_timeout_seconds',
});

const GENERATOR_OPTIONS = ['keyPath', 'keyId', 'dimList', 'preset', 'evalMode', 'sealMode', 'sealKekPath', 'metadataEncryption', 'seed', 'lifetimeDays'];
const MANAGER_OPTIONS = ['keyId', 'keyStore', 'keyPath', 'regionName', 'bucketName', 'secretPrefix'];
const INIT_OPTIONS = [...Object.keys(OPTION_KEYS), 'register', 'token', 'kek'];

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);
}

// optionsJSON checks the option names (not their values: the library does) and makes
// the options JSON (with the keys of `extra` added as they are). A Buffer seed becomes
// hex; undefined means "the default".
function optionsJSON(who, options, accepted, extra = {}) {
  if (options === undefined || options === null) options = {};
  if (!isPlainObject(options)) {
    throw new InvalidArgumentError(`${who}: options must be an object like {keyId: 'my-index'}, not ${typeof options}`);
  }
  const out = {};
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) out[k] = v;
  for (const [k, v] of Object.entries(options)) {
    if (!accepted.includes(k)) {
      throw new InvalidArgumentError(`${who}: unknown option ${shown(k)}; accepted: ${accepted.join(', ')}`);
    }
    if (v === undefined || !(k in OPTION_KEYS)) continue;
    out[OPTION_KEYS[k]] = k === 'seed' && v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v;
  }
  try {
    return JSON.stringify(out);
  } catch (e) {
    throw new InvalidArgumentError(`${who}: options cannot be written as JSON: ${shownText(e.message)}`, { cause: e });
  }
}

function requireKeyId(who, keyId) {
  if (typeof keyId !== 'string' || keyId === '') {
    throw new InvalidArgumentError(`${who}: keyId is required (a string such as 'my-index'), got ${keyId === '' ? 'an empty string' : typeof keyId}`);
  }
  return keyId;
}

function roleNumbers(who, roles) {
  if (roles === undefined || roles === null) return null;
  if (!Array.isArray(roles) || roles.length === 0) {
    throw new InvalidArgumentError(`${who}: roles must be a non-empty array of ${ROLES.join(', ')}`);
  }
  return roles.map((r) => {
    const i = ROLES.indexOf(r);
    if (i < 0) throw new InvalidArgumentError(`${who}: unknown role ${shown(r)}; accepted: ${ROLES.join(', ')}`);
    return i;
  });
}

// ---- KEK input (verify) --------------------------------------------------------------

// kekStep reads the KEK of {kek, sealKekPath} (or the options `names` says) as bytes, or
// gives null for none. The library parses it (raw, hex or base64 forms); the caller's own
// Buffer is not copied and not wiped, a copy made here is wiped after use (wipeKEK).
function kekStep(who, opts, names = ['kek', 'sealKekPath']) {
  const [kekName, pathName] = names;
  const kek = opts[kekName];
  const sealKekPath = opts[pathName];
  if (kek !== undefined && kek !== null && sealKekPath !== undefined && sealKekPath !== null) {
    throw new InvalidArgumentError(`${who}: give ${kekName} or ${pathName}, not both`);
  }
  if (kek !== undefined && kek !== null) {
    if (kek instanceof Uint8Array) return js({ sync: () => ({ bytes: kek, owned: false }), async: async () => ({ bytes: kek, owned: false }) });
    if (typeof kek === 'string') return js({ sync: () => ({ bytes: Buffer.from(kek, 'utf8'), owned: true }), async: async () => ({ bytes: Buffer.from(kek, 'utf8'), owned: true }) });
    throw new InvalidArgumentError(`${who}: ${kekName} must be a Buffer or a string (the KEK: 32 raw bytes, 64 hex characters or 44 base64 characters), not ${typeof kek}`);
  }
  if (sealKekPath !== undefined && sealKekPath !== null) {
    if (typeof sealKekPath !== 'string') throw new InvalidArgumentError(`${who}: ${pathName} must be a string`);
    const wrap = (e) => {
      const cls = e.code === 'ENOENT' ? NotFoundError : InvalidArgumentError;
      return new cls(`${who}: cannot read the KEK file ${shownText(sealKekPath)}: ${shownText(e.message)}`, { cause: e });
    };
    return js({
      sync: () => {
        try {
          return { bytes: fs.readFileSync(sealKekPath), owned: true };
        } catch (e) {
          throw wrap(e);
        }
      },
      async: async () => {
        try {
          return { bytes: await fs.promises.readFile(sealKekPath), owned: true };
        } catch (e) {
          throw wrap(e);
        }
      },
    });
  }
  return null;
}

function wipeKEK(k) {
  if (k && k.owned) k.bytes.fill(0);
}

// ---- metadata input and output -------------------------------------------------------

const METADATA_ROLE = ROLES.indexOf('MetadataKey');
const METADATA_TYPES = 'a string, a Buffer or Uint8Array of UTF-8 text, or a plain object or array (JSON-encoded)';
const METADATA_OPTIONS = ['keyId', 'aad', 'kek', 'sealKekPath'];
const DECRYPT_OPTIONS = [...METADATA_OPTIONS, 'asJson'];

function isJSONObject(v) {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function utf8(who, name, text) {
  if (!text.isWellFormed()) {
    throw new InvalidArgumentError(`${who}: ${name} is not valid Unicode text (it holds a lone surrogate)`);
  }
  return Buffer.from(text, 'utf8');
}

// metadataBytes: what is encrypted. A string as UTF-8, bytes as given (the library
// refuses what is not UTF-8), a plain object or array as JSON.stringify writes it
// (compact, non-ASCII kept: what enVector's SDK writes). Messages never show the metadata.
function metadataBytes(who, metadata) {
  if (typeof metadata === 'string') return utf8(who, 'metadata', metadata);
  if (metadata instanceof Uint8Array) return metadata;
  if (Array.isArray(metadata) || isJSONObject(metadata)) {
    let text;
    try {
      text = JSON.stringify(metadata);
    } catch (e) {
      throw new InvalidArgumentError(`${who}: metadata cannot be written as JSON: ${shownText(e.message)}`, { cause: e });
    }
    return utf8(who, 'metadata', text);
  }
  const got = metadata === null ? 'null' : typeof metadata === 'object' ? metadata.constructor?.name ?? 'object' : typeof metadata;
  throw new InvalidArgumentError(`${who}: metadata must be ${METADATA_TYPES}, not ${got}`);
}

function aadBytes(who, aad) {
  if (aad === undefined || aad === null) return null;
  if (typeof aad === 'string') return utf8(who, 'aad', aad);
  if (aad instanceof Uint8Array) return aad;
  throw new InvalidArgumentError(`${who}: aad must be a string or a Buffer, not ${typeof aad}`);
}

function tokenString(who, token) {
  let t = token;
  if (t instanceof Uint8Array) t = Buffer.from(t.buffer, t.byteOffset, t.byteLength).toString('utf8');
  if (typeof t !== 'string') {
    throw new InvalidArgumentError(`${who}: token must be a string or a Buffer (what encryptMetadata returned), not ${typeof token}`);
  }
  if (t.includes('\0')) throw new InvalidArgumentError(`${who}: token holds a NUL character; a token is base64 text`);
  return t;
}

// metadataResult: the decrypted bytes as text, or with asJson the JSON value it holds.
function metadataResult(who, buf, asJson) {
  let text;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    throw new CorruptDataError(`${who}: the metadata decrypted but is not UTF-8 text`);
  }
  if (!asJson) return text;
  try {
    return JSON.parse(text);
  } catch (e) {
    // e.message may quote the text: not repeated.
    throw new CorruptDataError(`${who}: the metadata is not JSON; decrypt it without asJson to get the text`, { cause: e });
  }
}

function checkOptions(who, opts, accepted) {
  if (opts === undefined || opts === null) return {};
  if (!isPlainObject(opts)) throw new InvalidArgumentError(`${who}: options must be an object, not ${typeof opts}`);
  for (const k of Object.keys(opts)) {
    if (!accepted.includes(k)) throw new InvalidArgumentError(`${who}: unknown option ${shown(k)}; accepted: ${accepted.join(', ')}`);
  }
  if (opts.asJson !== undefined && typeof opts.asJson !== 'boolean') {
    throw new InvalidArgumentError(`${who}: asJson must be true or false`);
  }
  return opts;
}

// withMetadataKey loads only the MetadataKey of keyId from st, unseals it with kek (a
// Buffer, or null) when it is sealed, and runs use(handle), a generator of steps.
function* withMetadataKey(who, st, keyId, kek, use) {
  const out = [null];
  const r = yield soft(call('envector_store_load', st, keyId, Int32Array.of(METADATA_ROLE), 1, out));
  if (r !== 0) {
    if (r instanceof NotFoundError) {
      const found = [0];
      const x = yield soft(call('envector_store_exists', st, keyId, found));
      if (x === 0 && found[0] === 1) {
        throw new NotFoundError(`${who}: key set ${shown(keyId)} has no MetadataKey (it was made with metadataEncryption: false): ${r.message}`, { cause: r });
      }
    }
    throw r;
  }
  const ks = out[0];
  try {
    const sealed = [0];
    yield call('envector_keyset_sealed', ks, sealed);
    if (sealed[0] !== 1) return yield* use(ks);
    if (!kek) throw new InvalidArgumentError(`${who}: the MetadataKey of key set ${shown(keyId)} is sealed; give its KEK with sealKekPath or kek`);
    const plain = [null];
    yield call('envector_unseal', ks, kek, kek.length, plain);
    try {
      return yield* use(plain[0]);
    } finally {
      yield release('envector_keyset_free', plain[0]);
    }
  } finally {
    yield release('envector_keyset_free', ks);
  }
}

// ---- lifecycle options -----------------------------------------------------------------

const STATE_OPTIONS = ['keyId', 'version'];
const SET_STATE_OPTIONS = ['keyId', 'compromised', 'kek', 'sealKekPath'];
const RESEAL_OPTIONS = ['keyId', 'newKek', 'newSealKekPath', 'kek', 'sealKekPath'];
const ROTATE_OPTIONS = ['keyId', 'reason', 'preset', 'evalMode', 'dimList', 'metadataEncryption', 'lifetimeDays', 'seed', 'kek', 'sealKekPath'];
const LOAD_VERSION_OPTIONS = ['keyId', 'roles'];

function versionNumber(who, v) {
  if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) {
    throw new InvalidArgumentError(`${who}: version must be a version number (1, 2, ...), or 0 for the current one; got ${shown(v)}`);
  }
  return v;
}

// ---- handles -------------------------------------------------------------------------

// The fallback for handles nobody closed: freed when their owner is collected.
const finalizer = new FinalizationRegistry(({ name, handle }) => detach(name, handle));

// The KeyManager method behind encryptMetadata and decryptMetadata (not exported).
const METADATA = Symbol('metadata');

// ---- KeyGenerator --------------------------------------------------------------------

/**
 * Makes key sets: generateKeys() writes one to <keyPath>/<keyId>/ (the local store),
 * generateKeysStream() returns its envelopes as Buffers. Holds no native resource.
 *
 * preset (enVector's: 'ip3' by default, 'ip2', 'ip1', 'ip0') and evalMode (left out,
 * the preset's default: 'mm32' with ip3, 'mm' with ip1 and ip2, 'rmp' with ip0; 'rmp'
 * and 'flat' with any, 'single' and 'mm' with ip0) are checked by the library, which refuses a
 * pair that does not go together naming the modes the preset takes. The defaults (ip3,
 * mm32, dims 32..4096, as enVector's SDK) make a 1.2 GB EvalKey: generateKeys() writes
 * it in ~7 s with little memory, generateKeysStream() (and init, which returns the keys)
 * holds it in memory (~12 s, ~5 GB at peak); { preset: 'ip0', evalMode: 'rmp',
 * dimList: [32] } makes a small set in milliseconds. lifetimeDays: how long the keys are
 * usable (expiresAt), in days, fractions allowed (1/24 is an hour); accepted 1 hour to
 * 100 years; default 1825 (5 years, as enVector).
 */
class KeyGenerator {
  #json;

  constructor(options = {}) {
    this.#json = optionsJSON('KeyGenerator', options, GENERATOR_OPTIONS);
    requireKeyId('KeyGenerator', options.keyId);
    this.keyId = options.keyId;
    this.keyPath = options.keyPath;
  }

  /** Generates the key set and saves it in <keyPath>/<keyId>/ (never overwriting). */
  async generateKeys() {
    await runAsync(ops.generateToStore(this.#json));
  }

  /** generateKeys(), blocking the calling thread. */
  generateKeysSync() {
    runSync(ops.generateToStore(this.#json));
  }

  /** Generates the key set in memory: {secBlob, encBlob, evalBlob, metadataBlob}. */
  async generateKeysStream() {
    return runAsync(ops.generateStream(this.#json));
  }

  /** generateKeysStream(), blocking the calling thread. */
  generateKeysStreamSync() {
    return runSync(ops.generateStream(this.#json));
  }
}

// ---- KeyManager ----------------------------------------------------------------------

/**
 * A key store (local directory or AWS) and, optionally, the key id it works on. The
 * store is opened on first use (so AWS_* variables set before then are seen) and closed
 * by close().
 */
class KeyManager {
  #json;
  #store = null;
  #closed = false;

  constructor(options = {}) {
    this.#json = optionsJSON('KeyManager', options, MANAGER_OPTIONS);
    if (options.keyId !== undefined && options.keyId !== null) requireKeyId('KeyManager', options.keyId);
    this.keyId = options.keyId ?? null;
    this.keyStore = options.keyStore ?? 'local';
  }

  /** Whether close() was called. */
  get closed() {
    return this.#closed;
  }

  #check(who) {
    if (this.#closed) throw new ClosedError(`KeyManager.${who}: the KeyManager is closed`);
  }

  // #handle opens the store on first use; every operation starts with it.
  *#handle(who) {
    this.#check(who);
    if (this.#store !== null) return this.#store;
    const h = yield* ops.storeOpen(this.#json);
    if (this.#closed || this.#store !== null) {
      yield release('envector_store_free', h);
      this.#check(who);
      return this.#store;
    }
    this.#store = h;
    finalizer.register(this, { name: 'envector_store_free', handle: h }, this);
    return h;
  }

  #keyId(who, opts) {
    return requireKeyId(`KeyManager.${who}`, opts && opts.keyId !== undefined ? opts.keyId : this.keyId);
  }

  // #op runs body(store). Once close() is called, an operation under way makes no
  // further call (it gets ClosedError at its next step; its cleanup still runs).
  *#op(who, body) {
    const st = yield* this.#handle(who);
    const it = body(st);
    let input;
    let threw = false;
    for (;;) {
      const r = threw ? it.throw(input) : it.next(input);
      if (r.done) return r.value;
      if (this.#closed && !r.value.release) {
        input = new ClosedError(`KeyManager.${who}: the KeyManager was closed during the operation`);
        threw = true;
        continue;
      }
      try {
        input = yield r.value;
        threw = false;
      } catch (e) {
        input = e;
        threw = true;
      }
    }
  }

  #run(sync, who, body) {
    if (sync) return runSync(this.#op(who, body));
    return runAsync(this.#op(who, body));
  }

  /** Opens the store now (otherwise the first operation does). */
  async open() {
    await runAsync(this.#handle('open'));
    return this;
  }

  openSync() {
    runSync(this.#handle('open'));
    return this;
  }

  #save(sync, keys, opts) {
    const keyId = this.#keyId('save', opts);
    if (!keys || typeof keys !== 'object') throw new InvalidArgumentError('KeyManager.save: keys must be {secBlob, encBlob, evalBlob, metadataBlob} Buffers');
    return this.#run(sync, 'save', (st) => ops.save(st, keyId, keys));
  }

  /** Saves a key set ({secBlob, encBlob, evalBlob, metadataBlob}), all or nothing, never overwriting. */
  async save(keys, opts) {
    return this.#save(false, keys, opts);
  }

  saveSync(keys, opts) {
    return this.#save(true, keys, opts);
  }

  #load(sync, opts) {
    const keyId = this.#keyId('load', opts);
    const roles = roleNumbers('KeyManager.load', opts && opts.roles);
    return this.#run(sync, 'load', (st) => ops.load(st, keyId, roles));
  }

  /** Loads the key set (every role present, or opts.roles), each envelope checked. */
  async load(opts) {
    return this.#load(false, opts);
  }

  loadSync(opts) {
    return this.#load(true, opts);
  }

  #delete(sync, opts) {
    const keyId = this.#keyId('delete', opts);
    const flags = opts && opts.immediate ? DELETE_IMMEDIATE : 0;
    return this.#run(sync, 'delete', (st) => ops.remove(st, keyId, flags));
  }

  /** Deletes the key set; {immediate: true} deletes AWS secrets without a recovery window. */
  async delete(opts) {
    return this.#delete(false, opts);
  }

  deleteSync(opts) {
    return this.#delete(true, opts);
  }

  #verifyKeyId(sync, keyId) {
    const id = this.#keyId('verifyKeyId', { keyId: keyId === undefined ? this.keyId : keyId });
    return this.#run(sync, 'verifyKeyId', (st) => ops.exists(st, id));
  }

  /** Whether the store holds a complete key set (SecKey, EncKey and EvalKey) under keyId. */
  async verifyKeyId(keyId) {
    return this.#verifyKeyId(false, keyId);
  }

  verifyKeyIdSync(keyId) {
    return this.#verifyKeyId(true, keyId);
  }

  /** The key ids in the store, sorted. */
  async listKeys() {
    return this.#run(false, 'listKeys', (st) => ops.list(st));
  }

  listKeysSync() {
    return this.#run(true, 'listKeys', (st) => ops.list(st));
  }

  #verify(sync, opts = {}) {
    const keyId = this.#keyId('verify', opts);
    const kek = kekStep('KeyManager.verify', opts);
    return this.#run(sync, 'verify', function* verifyBody(st) {
      const k = kek ? yield kek : null;
      try {
        yield* ops.verify(st, keyId, k ? k.bytes : null);
      } finally {
        wipeKEK(k);
      }
      return true;
    });
  }

  /**
   * Loads the key set and proves its keys belong together (EncKey encrypts what SecKey
   * decrypts, every evaluation key is a key under SecKey). A sealed key set needs its
   * KEK: {sealKekPath} or {kek}. Resolves true, or rejects (CorruptDataError,
   * AuthenticationError, ...).
   */
  async verify(opts) {
    return this.#verify(false, opts);
  }

  verifySync(opts) {
    return this.#verify(true, opts);
  }

  // ---- lifecycle ---------------------------------------------------------------------

  #state(sync, options) {
    const who = sync ? 'KeyManager.stateSync' : 'KeyManager.state';
    const opts = checkOptions(who, options, STATE_OPTIONS);
    const keyId = this.#keyId('state', opts);
    const version = versionNumber(who, opts.version ?? 0);
    return this.#run(sync, 'state', (st) => ops.stateAt(st, keyId, version));
  }

  /**
   * The state of the key set (the current version, or {version}) whatever it is: also of
   * one that load() refuses (KeyInactiveError). Only its EncKey (public) is read.
   */
  async state(options) {
    return this.#state(false, options);
  }

  stateSync(options) {
    return this.#state(true, options);
  }

  #setState(sync, to, reason, options) {
    const who = sync ? 'KeyManager.setStateSync' : 'KeyManager.setState';
    const opts = checkOptions(who, options, SET_STATE_OPTIONS);
    const keyId = this.#keyId('setState', opts);
    if (opts.compromised !== undefined && typeof opts.compromised !== 'boolean') {
      throw new InvalidArgumentError(`${who}: compromised must be true or false`);
    }
    let change;
    try {
      change = JSON.stringify({ to, reason, compromised: opts.compromised ?? false });
    } catch (e) {
      throw new InvalidArgumentError(`${who}: the change cannot be written as JSON: ${shownText(e.message)}`, { cause: e });
    }
    const kek = kekStep(who, opts);
    return this.#run(sync, 'setState', function* setStateBody(st) {
      const k = kek ? yield kek : null;
      try {
        return yield* ops.setState(st, keyId, change, k ? k.bytes : null);
      } finally {
        wipeKEK(k);
      }
    });
  }

  /**
   * Moves the key set to state `to`, one step at a time: 'active' (from preparing),
   * 'deactivated' (from active: refused for use from then on) or 'destroyed' (from
   * deactivated: erases the secret keys; the public ones stay). `reason` (required, as in
   * enVector) is recorded in every envelope with the time and the OS user;
   * {compromised: true} records a compromise ('compromised: <reason>'). A sealed key set
   * needs its KEK ({kek} or {sealKekPath}); an unsealed one refuses one. All or nothing.
   * Resolves to the state as stored now.
   */
  async setState(to, reason, options) {
    return this.#setState(false, to, reason, options);
  }

  setStateSync(to, reason, options) {
    return this.#setState(true, to, reason, options);
  }

  #reseal(sync, options) {
    const who = sync ? 'KeyManager.resealSync' : 'KeyManager.reseal';
    const opts = checkOptions(who, options, RESEAL_OPTIONS);
    const keyId = this.#keyId('reseal', opts);
    const newKek = kekStep(who, opts, ['newKek', 'newSealKekPath']);
    if (!newKek) throw new InvalidArgumentError(`${who}: the new KEK is required: newKek or newSealKekPath`);
    const kek = kekStep(who, opts);
    return this.#run(sync, 'reseal', function* resealBody(st) {
      const n = yield newKek;
      let k = null;
      try {
        k = kek ? yield kek : null;
        yield* ops.reseal(st, keyId, k ? k.bytes : null, n.bytes);
      } finally {
        wipeKEK(k);
        wipeKEK(n);
      }
    });
  }

  /**
   * Seals the secret keys under a new KEK ({newKek} or {newSealKekPath}): a sealed set is
   * unsealed with its current KEK first ({kek} or {sealKekPath}); an unsealed one is sealed
   * for the first time (give no current KEK). The keys do not change, nor do the public
   * keys. Only an active key set is resealed (KeyInactiveError). All or nothing.
   */
  async reseal(options) {
    return this.#reseal(false, options);
  }

  resealSync(options) {
    return this.#reseal(true, options);
  }

  #rotate(sync, options) {
    const who = sync ? 'KeyManager.rotateSync' : 'KeyManager.rotate';
    const opts = checkOptions(who, options, ROTATE_OPTIONS);
    const keyId = this.#keyId('rotate', opts);
    const { kek: _k, sealKekPath: _p, keyId: _i, reason, ...gen } = opts;
    const json = optionsJSON(who, gen, ROTATE_OPTIONS, { reason });
    const kek = kekStep(who, opts);
    return this.#run(sync, 'rotate', function* rotateBody(st) {
      const k = kek ? yield kek : null;
      try {
        return yield* ops.rotate(st, keyId, json, k ? k.bytes : null);
      } finally {
        wipeKEK(k);
      }
    });
  }

  /**
   * Makes a new key set under the same key id, version n+1, and makes it the current one;
   * the current one is kept as earlier version n, deactivated if it was active (with
   * {reason}, default 'superseded by version N+1'), readable with loadVersion() and
   * state({version}) until the key id is deleted. All or nothing. Resolves to the new
   * set's state. {preset, evalMode, dimList}: none given, the current set's parameters.
   */
  async rotate(options) {
    return this.#rotate(false, options);
  }

  rotateSync(options) {
    return this.#rotate(true, options);
  }

  #loadVersion(sync, version, options) {
    const who = sync ? 'KeyManager.loadVersionSync' : 'KeyManager.loadVersion';
    const opts = checkOptions(who, options, LOAD_VERSION_OPTIONS);
    const keyId = this.#keyId('loadVersion', opts);
    const v = versionNumber(who, version);
    const roles = roleNumbers(who, opts.roles);
    return this.#run(sync, 'loadVersion', (st) => ops.loadVersion(st, keyId, v, roles));
  }

  /**
   * Loads version `version` of the key set as load() does, whatever its state (it is asked
   * for by number): the current version or an earlier one kept by rotate(); 0 is the
   * current one. NotFoundError names the versions kept.
   */
  async loadVersion(version, options) {
    return this.#loadVersion(false, version, options);
  }

  loadVersionSync(version, options) {
    return this.#loadVersion(true, version, options);
  }

  /**
   * What the store holds under each key id, sorted: {keyId, roles, complete, versions}
   * (roles present at the current names; complete: SecKey, EncKey and EvalKey present;
   * versions: the earlier versions kept by rotate(), oldest first).
   */
  async listSets() {
    return this.#run(false, 'listSets', (st) => ops.listSets(st));
  }

  listSetsSync() {
    return this.#run(true, 'listSets', (st) => ops.listSets(st));
  }

  // [METADATA] is encryptMetadata / decryptMetadata (decrypt true), for the methods and
  // the module functions; who names the caller in messages.
  [METADATA](sync, who, decrypt, input, options) {
    const opts = checkOptions(who, options, decrypt ? DECRYPT_OPTIONS : METADATA_OPTIONS);
    this.#check(who.replace(/^KeyManager\./, ''));
    const keyId = requireKeyId(who, opts.keyId !== undefined ? opts.keyId : this.keyId);
    const data = decrypt ? tokenString(who, input) : metadataBytes(who, input);
    const aad = aadBytes(who, opts.aad);
    const kek = kekStep(who, opts);
    return this.#run(sync, who.replace(/^KeyManager\./, ''), function* metadataBody(st) {
      const k = kek ? yield kek : null;
      try {
        if (!decrypt) return yield* withMetadataKey(who, st, keyId, k && k.bytes, (ks) => ops.metadataEncrypt(ks, data, aad));
        const buf = yield* withMetadataKey(who, st, keyId, k && k.bytes, (ks) => ops.metadataDecrypt(ks, data, aad));
        try {
          return metadataResult(who, buf, opts.asJson === true);
        } finally {
          buf.fill(0);
        }
      } finally {
        wipeKEK(k);
      }
    });
  }

  /**
   * Encrypts one metadata value with the key set's MetadataKey and resolves to enVector's
   * token (standard base64 text). Only the MetadataKey is loaded; a sealed one needs its
   * KEK ({sealKekPath} or {kek}). See encryptMetadata().
   */
  async encryptMetadata(metadata, options) {
    return this[METADATA](false, 'KeyManager.encryptMetadata', false, metadata, options);
  }

  encryptMetadataSync(metadata, options) {
    return this[METADATA](true, 'KeyManager.encryptMetadataSync', false, metadata, options);
  }

  /**
   * Decrypts a metadata token with the key set's MetadataKey and resolves to the text, or
   * with {asJson: true} to the JSON value it holds. See decryptMetadata().
   */
  async decryptMetadata(token, options) {
    return this[METADATA](false, 'KeyManager.decryptMetadata', true, token, options);
  }

  decryptMetadataSync(token, options) {
    return this[METADATA](true, 'KeyManager.decryptMetadataSync', true, token, options);
  }

  /**
   * Frees the store handle (on a koffi worker thread, not waited for: the library lets
   * operations already under way finish). Idempotent; later calls throw ClosedError.
   */
  close() {
    if (this.#closed) return;
    this.#closed = true;
    const h = this.#store;
    this.#store = null;
    if (h !== null) {
      finalizer.unregister(this);
      detach('envector_store_free', h);
    }
  }

  [Symbol.dispose]() {
    this.close();
  }
}

// ---- init ----------------------------------------------------------------------------

// The key settings a register callback is told about (those given, never the seed).
const KEY_SETTINGS = ['keyId', 'preset', 'evalMode', 'dimList', 'metadataEncryption', 'sealMode', 'sealKekPath', 'keyStore', 'keyPath',
  'regionName', 'bucketName', 'secretPrefix', 'lifetimeDays'];

function registerInfo(options) {
  const info = {};
  for (const k of KEY_SETTINGS) {
    if (options[k] !== undefined) info[k] = options[k];
  }
  return info;
}

// camel turns the snake_case keys of a result object into camelCase (eval_key_sha256 ->
// evalKeySha256).
function camel(obj) {
  const out = {};
  for (const [k, v] of Object.entries(obj || {})) out[k.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase())] = v;
  return out;
}

const EVAL_ROLE = ROLES.indexOf('EvalKey');

// initResult makes what init resolves to from envector_init's result JSON. `keys` reads
// the key set's envelopes from the store on first access (synchronously, then kept);
// loadKeys() does it asynchronously.
function initResult(r, registered, storeJSON) {
  const ep = r.endpoint || null;
  const out = {
    keyId: r.key_id,
    created: r.created,
    registered,
    sealed: r.sealed,
    version: r.version,
    preset: r.preset,
    evalMode: r.eval_mode,
    dimList: r.dim_list,
    metadataEncryption: r.metadata_encryption,
    evalKeySha256: r.eval_key_sha256,
    evalKeySize: r.eval_key_size,
    address: ep ? ep.address : null,
    loaded: ep ? ep.loaded : false,
    unloaded: ep ? ep.unloaded : [],
    warnings: r.warnings,
    registrationInfo: camel(r.registration_info),
  };
  let keys = null;
  const read = function* readKeys() {
    const st = yield* ops.storeOpen(storeJSON);
    try {
      return yield* ops.load(st, r.key_id, null);
    } finally {
      yield release('envector_store_free', st);
    }
  };
  Object.defineProperty(out, 'keys', {
    enumerable: false,
    get() {
      if (keys === null) keys = runSync(read());
      return keys;
    },
  });
  Object.defineProperty(out, 'loadKeys', {
    enumerable: false,
    value: async () => {
      if (keys === null) keys = await runAsync(read());
      return keys;
    },
  });
  return Object.freeze(out);
}

function* initOp(sync, who, json, storeJSON, options) {
  const { keyId, register } = options;
  const kek = kekStep(who, { kek: options.kek });
  const k = kek ? yield kek : null;
  let r;
  try {
    r = yield* ops.init(json, k ? k.bytes : null, options.token ?? null);
  } finally {
    wipeKEK(k);
  }
  let registered = Boolean(r.endpoint && r.endpoint.registered);
  if (register && r.created) {
    const st = yield* ops.storeOpen(storeJSON);
    try {
      try {
        const keys = yield* ops.load(st, keyId, [EVAL_ROLE]);
        const info = { ...registerInfo(options), ...camel(r.registration_info) };
        yield js({
          sync: () => {
            const v = register(keyId, keys.evalBlob, info);
            if (v && typeof v.then === 'function') {
              v.then(undefined, () => {});
              throw new InvalidArgumentError(`${who}: register returned a Promise; ${who} cannot wait for it: use init() for an async register`);
            }
          },
          async: async () => register(keyId, keys.evalBlob, info),
        });
      } catch (e) {
        // Undo, so that the next init makes and registers a key set again.
        const d = yield soft(call('envector_store_delete', st, keyId, DELETE_IMMEDIATE));
        if (d !== 0) {
          process.emitWarning(`envector-keys: ${who}: register failed and key set ${shown(keyId)} could not be removed: ${d.message}`, 'EnvectorWarning');
        }
        throw e;
      }
    } finally {
      yield release('envector_store_free', st);
    }
    registered = true;
  }
  return initResult(r, registered, storeJSON);
}

// initCall checks the options and runs the init flow, synchronously or not.
function initCall(sync, who, options = {}) {
  const json = optionsJSON(who, options, INIT_OPTIONS);
  requireKeyId(who, options.keyId);
  if (options.register !== undefined && options.register !== null && typeof options.register !== 'function') {
    throw new InvalidArgumentError(`${who}: register must be a function (keyId, evalKey, info) => void | Promise<void>`);
  }
  if (options.autoKeySetup !== undefined && typeof options.autoKeySetup !== 'boolean') {
    throw new InvalidArgumentError(`${who}: autoKeySetup must be true or false`);
  }
  if (options.register && options.address !== undefined && options.address !== null) {
    throw new InvalidArgumentError(`${who}: give address (the library registers the EvalKey with that server) or register (your own callback), not both`);
  }
  if (options.tls !== undefined && options.tls !== null && typeof options.tls !== 'boolean') {
    throw new InvalidArgumentError(`${who}: tls must be true or false`);
  }
  const token = options.token;
  if (token !== undefined && token !== null && (typeof token !== 'string' || token.includes('\0'))) {
    throw new InvalidArgumentError(`${who}: token must be a string (the server's bearer token: 1 to 4096 visible ASCII characters)`);
  }
  const storeOpts = {};
  for (const k of MANAGER_OPTIONS) if (k !== 'keyId' && options[k] !== undefined) storeOpts[k] = options[k];
  const storeJSON = optionsJSON(who, storeOpts, MANAGER_OPTIONS);
  const op = initOp(sync, who, json, storeJSON, options);
  return sync ? runSync(op) : runAsync(op);
}

/**
 * enVector's client start-up in one library call (envector_init): finds key set keyId in
 * the store or (autoKeySetup, the default) generates, seals (sealMode 'aes' with
 * sealKekPath or kek) and saves it; then, with address, makes that server's key endpoint
 * hold and use its EvalKey (registered only if the server has no key of that id; the
 * other keys unloaded, this one loaded). register(keyId, evalKey, info), instead of
 * address, is called after a new key set was saved. See index.d.ts.
 */
async function init(options = {}) {
  return initCall(false, 'init', options);
}

/** init(), blocking the calling thread (register, if given, must not return a Promise). */
function initSync(options = {}) {
  return initCall(true, 'initSync', options);
}

/** init() under the enVector SDK's other name: the same options and behaviour. */
async function initIndexConfig(options = {}) {
  return initCall(false, 'initIndexConfig', options);
}

/** initSync() under the enVector SDK's other name. */
function initIndexConfigSync(options = {}) {
  return initCall(true, 'initIndexConfigSync', options);
}

// ---- metadata encryption -------------------------------------------------------------

// metadataCall runs a KeyManager's [METADATA] for a module function: the store options
// make a KeyManager used for this one call.
function metadataCall(sync, who, decrypt, input, options) {
  const accepted = [...MANAGER_OPTIONS, ...(decrypt ? DECRYPT_OPTIONS : METADATA_OPTIONS)];
  const opts = checkOptions(who, options, accepted);
  const storeOpts = {};
  const own = {};
  for (const [k, v] of Object.entries(opts)) {
    if (MANAGER_OPTIONS.includes(k) && k !== 'keyId') storeOpts[k] = v;
    else own[k] = v;
  }
  requireKeyId(who, own.keyId);
  const km = new KeyManager(storeOpts);
  if (sync) {
    try {
      return km[METADATA](true, who, decrypt, input, own);
    } finally {
      km.close();
    }
  }
  let p;
  try {
    p = km[METADATA](false, who, decrypt, input, own);
  } catch (e) {
    km.close();
    throw e;
  }
  return p.finally(() => km.close());
}

/**
 * Encrypts one metadata value with the MetadataKey of key set options.keyId (in the store
 * the StoreOptions name) and resolves to the token enVector stores beside the vector:
 * standard base64 of the JSON {"encrypted_data", "iv", "tag"} (AES-256-GCM, a fresh
 * random 12-byte IV), which enVector's SDK decrypts, as it does the other way round.
 * metadata: a string (encrypted as UTF-8), a Buffer of UTF-8 text, or a plain object or
 * array (JSON.stringify). options.aad (string or Buffer) is bound to the token without
 * being encrypted; decrypting needs the same. A sealed MetadataKey needs its KEK
 * ({sealKekPath} or {kek}).
 */
async function encryptMetadata(metadata, options) {
  return metadataCall(false, 'encryptMetadata', false, metadata, options);
}

function encryptMetadataSync(metadata, options) {
  return metadataCall(true, 'encryptMetadataSync', false, metadata, options);
}

/**
 * Decrypts a metadata token (of encryptMetadata or enVector's SDK: the base64 token or
 * its JSON form) with the MetadataKey of key set options.keyId and the aad it was made
 * with; resolves to the text, or with {asJson: true} to the JSON value it holds.
 */
async function decryptMetadata(token, options) {
  return metadataCall(false, 'decryptMetadata', true, token, options);
}

function decryptMetadataSync(token, options) {
  return metadataCall(true, 'decryptMetadataSync', true, token, options);
}

module.exports = {
  KeyGenerator,
  KeyManager,
  init,
  initSync,
  initIndexConfig,
  initIndexConfigSync,
  encryptMetadata,
  encryptMetadataSync,
  decryptMetadata,
  decryptMetadataSync,
  OPTION_KEYS,
};
