'use strict';
// The operations, as generators of C calls (see lib/run.js). Each takes and gives
// handles (BigInt), strings and Buffers; none knows anything about keys beyond the
// header: role numbers, statuses, and who frees what.

const { koffi, fn, ROLES } = require('./native');
const { InvalidArgumentError } = require('./errors');
const { call, release } = require('./run');

/** The KeyBlobs property of each role, in role order. */
const BLOB_KEYS = Object.freeze(['secBlob', 'encBlob', 'evalBlob', 'metadataBlob']);
const ALL_ROLES = Object.freeze(ROLES.map((_, i) => i));
const SECRET_ROLES = Object.freeze([0, 3]); // SecKey, MetadataKey

function* keygen(optionsJSON) {
  const out = [null];
  yield call('envector_keygen', optionsJSON, out);
  return out[0];
}

// kekCheck checks that kek (a Buffer or Uint8Array) is a KEK in a form envector_seal
// accepts (envector_kek_check); its error names the KEK `name`, the option that gave it.
// The form only: a wrong KEK passes.
function* kekCheck(kek, name = 'kek') {
  yield { ...call('envector_kek_check', kek, kek.length), names: { kek: name } };
}

function* storeOpen(optionsJSON) {
  const out = [null];
  yield call('envector_store_open', optionsJSON, out);
  return out[0];
}

// blobs reads the envelope of every role into a KeyBlobs object in one call
// (envector_keyset_blobs); a role the key set does not hold is null. Every library
// buffer is copied and freed at once.
function* blobs(ks) {
  const data = new BigUint64Array(ROLES.length);
  const lens = new BigUint64Array(ROLES.length);
  yield call('envector_keyset_blobs', ks, data, lens);
  const keys = {};
  try {
    for (const r of ALL_ROLES) {
      // A Buffer of its own (never a pooled slab), so that the caller may wipe it.
      keys[BLOB_KEYS[r]] = data[r] === 0n ? null : Buffer.from(koffi.view(data[r], Number(lens[r])).slice(0));
    }
  } catch (e) {
    for (const r of SECRET_ROLES) if (keys[BLOB_KEYS[r]]) keys[BLOB_KEYS[r]].fill(0);
    throw e;
  } finally {
    // Stays in C (no call into Go); zeroes the buffers that held secrets.
    for (const p of data) if (p !== 0n) fn.envector_bytes_free(p);
  }
  return keys;
}

// blobsAndSealed reads every envelope and whether the key set is sealed.
function* blobsAndSealed(ks) {
  const sealed = [0];
  yield call('envector_keyset_sealed', ks, sealed);
  const keys = yield* blobs(ks);
  return { keys, sealed: sealed[0] === 1 };
}

// seal: a new key set handle, ks with its secret keys sealed under kek (a Buffer).
function* seal(ks, kek) {
  const out = [null];
  yield call('envector_seal', ks, kek, kek.length, out);
  return out[0];
}

// generateStream: a new key set in memory, as envelopes; with kek (a Buffer), its secret
// keys sealed under kek (envector_seal) before they leave the library.
function* generateStream(optionsJSON, kek = null) {
  const ks = yield* keygen(optionsJSON);
  try {
    if (!kek) return yield* blobs(ks);
    const sealed = yield* seal(ks, kek);
    try {
      return yield* blobs(sealed);
    } finally {
      yield release('envector_keyset_free', sealed);
    }
  } finally {
    yield release('envector_keyset_free', ks);
  }
}

// generateSealedToStore: a new key set, sealed under kek (a Buffer), saved in the store
// the same options name. The store is opened only once sealing succeeded: nothing is
// written before; the store writes all or nothing.
function* generateSealedToStore(optionsJSON, kek) {
  const ks = yield* keygen(optionsJSON);
  try {
    const sealed = yield* seal(ks, kek);
    try {
      const st = yield* storeOpen(optionsJSON);
      try {
        yield call('envector_store_save', st, sealed);
      } finally {
        yield release('envector_store_free', st);
      }
    } finally {
      yield release('envector_keyset_free', sealed);
    }
  } finally {
    yield release('envector_keyset_free', ks);
  }
}

// generateToStore: a new key set saved in the store the same options name (sealed under
// kek first, when given). Nothing is written unless generation succeeded; the store
// writes all or nothing.
function* generateToStore(optionsJSON, kek = null) {
  if (kek) return yield* generateSealedToStore(optionsJSON, kek);
  const ks = [null];
  const st = [null];
  const [kr, sr] = yield [call('envector_keygen', optionsJSON, ks), call('envector_store_open', optionsJSON, st)];
  try {
    if (kr !== 0) throw kr;
    if (sr !== 0) throw sr;
    yield call('envector_store_save', st[0], ks[0]);
  } finally {
    if (kr === 0) yield release('envector_keyset_free', ks[0]);
    if (sr === 0) yield release('envector_store_free', st[0]);
  }
}

// fromBlobs: a key set handle from KeyBlobs (every envelope checked by the library); who
// names the method called in messages.
function* fromBlobs(keyId, keys, who = 'fromBlobs') {
  const roles = [];
  const bufs = [];
  BLOB_KEYS.forEach((k, i) => {
    const b = keys[k];
    if (b === undefined || b === null) return;
    if (!(b instanceof Uint8Array)) {
      throw new InvalidArgumentError(`${who}: ${k} must be a Buffer or Uint8Array (the envelope bytes), not ${typeof b}`);
    }
    roles.push(i);
    bufs.push(b);
  });
  if (roles.length === 0) {
    throw new InvalidArgumentError(`${who}: no key blob given; expected some of ${BLOB_KEYS.join(', ')}`);
  }
  const out = [null];
  yield call('envector_keyset_from_blobs', keyId, Int32Array.from(roles), bufs, bufs.map((b) => b.length), roles.length, out);
  return out[0];
}

function* save(st, keyId, keys, who) {
  const ks = yield* fromBlobs(keyId, keys, who);
  try {
    yield call('envector_store_save', st, ks);
  } finally {
    yield release('envector_keyset_free', ks);
  }
}

function* load(st, keyId, roles) {
  const out = [null];
  const list = roles ? Int32Array.from(roles) : null;
  yield call('envector_store_load', st, keyId, list, list ? list.length : 0, out);
  try {
    return yield* blobs(out[0]);
  } finally {
    yield release('envector_keyset_free', out[0]);
  }
}

function* exists(st, keyId) {
  const out = [0];
  yield call('envector_store_exists', st, keyId, out);
  return out[0] === 1;
}

function* remove(st, keyId, flags) {
  yield call('envector_store_delete', st, keyId, flags);
}

function* list(st) {
  const ids = [null];
  const count = [0];
  yield call('envector_store_list', st, ids, count);
  try {
    return count[0] === 0 ? [] : koffi.decode(ids[0], 'const char *', count[0]);
  } finally {
    fn.envector_string_list_free(ids[0]);
  }
}

// verify: load key set keyId and prove its keys belong together (unsealing with kek,
// a Buffer, when it is sealed; kek may be null for an unsealed key set).
function* verify(st, keyId, kek) {
  const out = [null];
  yield call('envector_store_load', st, keyId, null, 0, out);
  try {
    yield call('envector_keyset_verify', out[0], kek, kek ? kek.length : 0);
  } finally {
    yield release('envector_keyset_free', out[0]);
  }
}

// checkKEK: that kek unseals the sealed key set ks (AuthenticationError otherwise).
function* checkKEK(ks, kek) {
  const out = [null];
  yield call('envector_unseal', ks, kek, kek.length, out);
  yield release('envector_keyset_free', out[0]);
}

// ---- key set lifecycle -----------------------------------------------------------------

// jsonString reads a library string holding JSON and frees it (stays in C).
function jsonString(ptr) {
  try {
    return JSON.parse(koffi.decode(ptr, 'char', -1));
  } finally {
    fn.envector_string_free(ptr);
  }
}

// keyState: the life of key set handle ks (envector_keyset_state_json), in camelCase.
function* keyState(ks) {
  const out = [null];
  yield call('envector_keyset_state_json', ks, out);
  const s = jsonString(out[0]);
  return {
    state: s.state,
    version: s.version,
    expiresAt: s.expires_at,
    createdAt: s.created_at,
    setId: s.set_id,
    reason: s.reason,
    compromised: s.compromised,
    updatedAt: s.updated_at,
    changedBy: s.changed_by,
  };
}

// stateAt: the state of version `version` (0: the current one) of keyId, whatever it is;
// only the EncKey (public) is read.
function* stateAt(st, keyId, version) {
  const out = [null];
  yield call('envector_store_load_version', st, keyId, version, Int32Array.of(ROLES.indexOf('EncKey')), 1, out);
  try {
    return yield* keyState(out[0]);
  } finally {
    yield release('envector_keyset_free', out[0]);
  }
}

// setState moves keyId to another state (changeJSON: {"to", "reason", "compromised"});
// kek (a Buffer) for a sealed set, null otherwise. Resolves to the state as stored now.
function* setState(st, keyId, changeJSON, kek) {
  yield call('envector_store_set_state', st, keyId, changeJSON, kek, kek ? kek.length : 0);
  return yield* stateAt(st, keyId, 0);
}

// reseal seals keyId under newKek, unsealing with oldKek (null: an unsealed set).
function* reseal(st, keyId, oldKek, newKek) {
  yield call('envector_store_reseal', st, keyId, oldKek, oldKek ? oldKek.length : 0, newKek, newKek.length);
}

// rotate makes version n+1 of keyId; resolves to its state.
function* rotate(st, keyId, optionsJSON, kek) {
  const out = [null];
  yield call('envector_store_rotate', st, keyId, optionsJSON, kek, kek ? kek.length : 0, out);
  try {
    return yield* keyState(out[0]);
  } finally {
    yield release('envector_keyset_free', out[0]);
  }
}

// loadVersion reads version `version` (0: the current one) of keyId whatever its state.
function* loadVersion(st, keyId, version, roles) {
  const out = [null];
  const list = roles ? Int32Array.from(roles) : null;
  yield call('envector_store_load_version', st, keyId, version, list, list ? list.length : 0, out);
  try {
    return yield* blobs(out[0]);
  } finally {
    yield release('envector_keyset_free', out[0]);
  }
}

// listSets: what the store holds under each key id, in camelCase.
function* listSets(st) {
  const out = [null];
  yield call('envector_store_list_sets', st, out);
  return jsonString(out[0]).map((l) => ({ keyId: l.key_id, roles: l.roles, complete: l.complete, versions: l.versions }));
}

// metadataEncrypt: the token (a string) of plaintext (a Buffer of UTF-8 text) under the
// MetadataKey of ks, with associated data aad (a Buffer, or null).
function* metadataEncrypt(ks, plaintext, aad) {
  const out = [null];
  yield call('envector_metadata_encrypt', ks, plaintext, plaintext.length, aad, aad ? aad.length : 0, out);
  try {
    return koffi.decode(out[0], 'char', -1);
  } finally {
    fn.envector_string_free(out[0]); // stays in C
  }
}

// metadataDecrypt: the metadata of token (a string) under the MetadataKey of ks, with
// associated data aad (a Buffer, or null), as a Buffer of its own that the caller may
// wipe. The library's buffer is zeroed when freed.
function* metadataDecrypt(ks, token, aad) {
  const data = [null];
  const len = [0];
  yield call('envector_metadata_decrypt', ks, token, aad, aad ? aad.length : 0, data, len);
  try {
    const n = Number(len[0]);
    return n === 0 ? Buffer.alloc(0) : Buffer.from(koffi.view(data[0], n).slice(0));
  } finally {
    fn.envector_bytes_free(data[0]); // stays in C; zeroes the buffer
  }
}

// init: the init flow in one call (envector_init); resolves to its result JSON (no
// secrets). kek: a Buffer or null; token: a string or null.
function* init(optionsJSON, kek, token) {
  const out = [null];
  yield call('envector_init', optionsJSON, kek, kek ? kek.length : 0, token, out);
  return jsonString(out[0]);
}

module.exports = {
  BLOB_KEYS,
  init,
  keygen,
  kekCheck,
  storeOpen,
  blobs,
  blobsAndSealed,
  seal,
  generateStream,
  generateToStore,
  fromBlobs,
  save,
  load,
  exists,
  remove,
  list,
  verify,
  checkKEK,
  metadataEncrypt,
  metadataDecrypt,
  keyState,
  stateAt,
  setState,
  reseal,
  rotate,
  loadVersion,
  listSets,
};
