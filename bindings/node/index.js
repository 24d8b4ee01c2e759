'use strict';
// envector-keys for Node.js: the key sets of enVector encrypted vector search, made,
// sealed, stored and verified by libenvector (the Go core behind a C ABI) through koffi,
// and the metadata beside each vector encrypted with a key set's MetadataKey.
// Every operation that does real work returns a Promise and runs off the event loop;
// *Sync variants block the calling thread. See README.md and index.d.ts.

const native = require('./lib/native');
const {
  EnvectorError, InvalidArgumentError, NotFoundError, AlreadyExistsError, AuthenticationError, CorruptDataError,
  StorageIOError, RemoteStoreError, InternalError, KeyInactiveError, ClosedError,
} = require('./lib/errors');
const {
  KeyGenerator, KeyManager, init, initSync, initIndexConfig, initIndexConfigSync, encryptMetadata, encryptMetadataSync,
  decryptMetadata, decryptMetadataSync,
} = require('./lib/api');

/** The version of the loaded libenvector, e.g. "0.3.0" (the VERSION file of its checkout). */
function libraryVersion() {
  return native.fn.envector_version();
}

const { libraryPath, ROLES } = native;

// Every export is a plain name (no `a: b.c`), so that Node's ESM loader sees them all
// and `import { KeyManager, NotFoundError } from 'envector-keys'` works.
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
  libraryVersion,
  libraryPath,
  ROLES,
  EnvectorError,
  InvalidArgumentError,
  NotFoundError,
  AlreadyExistsError,
  AuthenticationError,
  CorruptDataError,
  StorageIOError,
  RemoteStoreError,
  InternalError,
  KeyInactiveError,
  ClosedError,
};
