'use strict';
// The public API: KeyGenerator, KeyManager, init and initIndexConfig. Options are
// translated to the library's options JSON (camelCase -> snake_case) and checked by the
// library; nothing here knows what a valid preset, dim or KEK is.

const fs = require('node:fs');
const { ROLES, DELETE_IMMEDIATE } = require('./native');
const { STATUS, InvalidArgumentError, NotFoundError, AlreadyExistsError, ClosedError } = require('./errors');
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
});

const GENERATOR_OPTIONS = ['keyPath', 'keyId', 'dimList', 'preset', 'evalMode', 'sealMode', 'sealKekPath', 'metadataEncryption', 'seed'];
const MANAGER_OPTIONS = ['keyId', 'keyStore', 'keyPath', 'regionName', 'bucketName', 'secretPrefix'];
const INIT_OPTIONS = [...Object.keys(OPTION_KEYS), 'autoKeySetup', 'register'];

function isPlainObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Uint8Array);
}

// optionsJSON checks the option names (not their values: the library does) and makes
// the options JSON. A Buffer seed becomes hex; undefined means "the default".
function optionsJSON(who, options, accepted) {
  if (options === undefined || options === null) options = {};
  if (!isPlainObject(options)) {
    throw new InvalidArgumentError(`${who}: options must be an object like {keyId: 'my-index'}, not ${typeof options}`);
  }
  const out = {};
  for (const [k, v] of Object.entries(options)) {
    if (!accepted.includes(k)) {
      throw new InvalidArgumentError(`${who}: unknown option "${k}"; accepted: ${accepted.join(', ')}`);
    }
    if (v === undefined || !(k in OPTION_KEYS)) continue;
    out[OPTION_KEYS[k]] = k === 'seed' && v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v;
  }
  try {
    return JSON.stringify(out);
  } catch (e) {
    throw new InvalidArgumentError(`${who}: options cannot be written as JSON: ${e.message}`, { cause: e });
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
    if (i < 0) throw new InvalidArgumentError(`${who}: unknown role ${JSON.stringify(r)}; accepted: ${ROLES.join(', ')}`);
    return i;
  });
}

// ---- KEK input (verify) --------------------------------------------------------------

// kekInput reads the KEK of {kek, sealKekPath} as bytes, or gives null for none. The
// library parses it (raw, hex or base64 forms); the caller's own Buffer is not copied
// and not wiped, a copy made here is wiped after use (wipeKEK).
function kekStep(who, opts) {
  const { kek, sealKekPath } = opts;
  if (kek !== undefined && kek !== null && sealKekPath !== undefined && sealKekPath !== null) {
    throw new InvalidArgumentError(`${who}: give kek or sealKekPath, not both`);
  }
  if (kek !== undefined && kek !== null) {
    if (kek instanceof Uint8Array) return js({ sync: () => ({ bytes: kek, owned: false }), async: async () => ({ bytes: kek, owned: false }) });
    if (typeof kek === 'string') return js({ sync: () => ({ bytes: Buffer.from(kek, 'utf8'), owned: true }), async: async () => ({ bytes: Buffer.from(kek, 'utf8'), owned: true }) });
    throw new InvalidArgumentError(`${who}: kek must be a Buffer or a string (the KEK: 32 raw bytes, 64 hex characters or 44 base64 characters), not ${typeof kek}`);
  }
  if (sealKekPath !== undefined && sealKekPath !== null) {
    if (typeof sealKekPath !== 'string') throw new InvalidArgumentError(`${who}: sealKekPath must be a string`);
    const wrap = (e) => {
      const cls = e.code === 'ENOENT' ? NotFoundError : InvalidArgumentError;
      return new cls(`${who}: cannot read the KEK file ${sealKekPath}: ${e.message}`, { cause: e });
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

// ---- handles -------------------------------------------------------------------------

// The fallback for handles nobody closed: freed when their owner is collected.
const finalizer = new FinalizationRegistry(({ name, handle }) => detach(name, handle));

// ---- KeyGenerator --------------------------------------------------------------------

/**
 * Makes key sets: generateKeys() writes one to <keyPath>/<keyId>/ (the local store),
 * generateKeysStream() returns its envelopes as Buffers. Holds no native resource.
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

function registerInfo(options) {
  const info = {};
  for (const k of Object.keys(OPTION_KEYS)) {
    if (k !== 'seed' && options[k] !== undefined) info[k] = options[k];
  }
  return info;
}

function* initOp(json, options) {
  const { keyId, autoKeySetup = true, register } = options;
  const st = yield* ops.storeOpen(json);
  try {
    // A key set already there? (With autoKeySetup, absence is expected: its error
    // object is freed unread.)
    const found = [null];
    let r = yield soft(call('envector_store_load', st, keyId, null, 0, found), autoKeySetup ? STATUS.NOT_FOUND : undefined);
    if (r === 0) return yield* existing(found[0], options);
    if (r !== STATUS.NOT_FOUND && !(r instanceof NotFoundError)) throw r;
    if (!autoKeySetup) {
      throw new NotFoundError(`init: autoKeySetup is false and there is no key set "${keyId}" (generate one first, or pass autoKeySetup: true): ${r.message}`, { cause: r });
    }

    // Make one.
    const ks = yield* ops.keygen(json);
    try {
      r = yield soft(call('envector_store_save', st, ks));
      if (r instanceof AlreadyExistsError) {
        // Another process made it meanwhile: use theirs.
        const again = yield soft(call('envector_store_load', st, keyId, null, 0, found));
        if (again === 0) return yield* existing(found[0], options);
        throw r;
      }
      if (r !== 0) throw r;
      const { keys, sealed } = yield* ops.blobsAndSealed(ks);
      const info = { ...registerInfo(options), sealed };
      if (register) {
        try {
          yield js({ sync: () => register(keyId, keys.evalBlob, info), async: async () => register(keyId, keys.evalBlob, info) });
        } catch (e) {
          // Undo, so that the next init makes and registers a key set again.
          const d = yield soft(call('envector_store_delete', st, keyId, DELETE_IMMEDIATE));
          if (d !== 0) {
            process.emitWarning(`envector-keys: init: register failed and key set "${keyId}" could not be removed: ${d.message}`, 'EnvectorWarning');
          }
          throw e;
        }
      }
      return { keyId, created: true, registered: Boolean(register), sealed, keys };
    } finally {
      yield release('envector_keyset_free', ks);
    }
  } finally {
    yield release('envector_store_free', st);
  }
}

// existing reads a key set found in the store; a sealed one is checked against the KEK
// of sealKekPath, when given, so a wrong KEK fails now rather than at first use.
function* existing(ks, options) {
  try {
    const { keys, sealed } = yield* ops.blobsAndSealed(ks);
    if (sealed && options.sealKekPath) {
      const k = yield kekStep('init', { sealKekPath: options.sealKekPath });
      try {
        yield* ops.checkKEK(ks, k.bytes);
      } finally {
        wipeKEK(k);
      }
    }
    return { keyId: options.keyId, created: false, registered: false, sealed, keys };
  } finally {
    yield release('envector_keyset_free', ks);
  }
}

/**
 * Finds key set keyId in the store, or (autoKeySetup, the default) generates and saves
 * it and then calls register(keyId, evalKey, info). With autoKeySetup false a missing
 * key set is a NotFoundError naming where it was looked for.
 */
async function init(options = {}) {
  const json = optionsJSON('init', options, INIT_OPTIONS);
  requireKeyId('init', options.keyId);
  if (options.register !== undefined && options.register !== null && typeof options.register !== 'function') {
    throw new InvalidArgumentError('init: register must be a function (keyId, evalKey, info) => void | Promise<void>');
  }
  if (options.autoKeySetup !== undefined && typeof options.autoKeySetup !== 'boolean') {
    throw new InvalidArgumentError('init: autoKeySetup must be true or false');
  }
  return runAsync(initOp(json, options));
}

/** init() under the enVector SDK's other name: the same options and behaviour. */
async function initIndexConfig(options = {}) {
  return init(options);
}

module.exports = { KeyGenerator, KeyManager, init, initIndexConfig, OPTION_KEYS };
