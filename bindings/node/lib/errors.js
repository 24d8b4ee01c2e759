'use strict';
// Error classes, one per status code of include/envector.h. `code` is the C macro's
// name (a string, as Node's own error codes are) and `status` its number.

const STATUS = Object.freeze({
  OK: 0,
  INVALID_ARGUMENT: 1,
  NOT_FOUND: 2,
  ALREADY_EXISTS: 3,
  AUTH: 4,
  CORRUPT: 5,
  IO: 6,
  REMOTE: 7,
  INTERNAL: 8,
  KEY_INACTIVE: 9,
});

/** The base class of every error this package throws. */
class EnvectorError extends Error {
  constructor(message, status = STATUS.INTERNAL, code = 'ENVECTOR_ERR_INTERNAL', options = undefined) {
    super(message, options);
    /** The C macro name of the status, e.g. 'ENVECTOR_ERR_NOT_FOUND'. */
    this.code = code;
    /** The C status number (ENVECTOR_ERR_*). */
    this.status = status;
  }

  get name() {
    return this.constructor.name;
  }
}

function define(name, status, code) {
  const cls = {
    [name]: class extends EnvectorError {
      constructor(message, options) {
        super(message, status, code, options);
      }
    },
  }[name];
  return cls;
}

/** The caller passed something not accepted (also: use of a closed object). */
const InvalidArgumentError = define('InvalidArgumentError', STATUS.INVALID_ARGUMENT, 'ENVECTOR_ERR_INVALID_ARGUMENT');
/** A key set, role, file, object or secret is absent. */
const NotFoundError = define('NotFoundError', STATUS.NOT_FOUND, 'ENVECTOR_ERR_NOT_FOUND');
/** The target holds keys already; nothing was overwritten. */
const AlreadyExistsError = define('AlreadyExistsError', STATUS.ALREADY_EXISTS, 'ENVECTOR_ERR_ALREADY_EXISTS');
/** Unsealing failed (wrong KEK, or sealed data altered), or AWS refused the credentials. */
const AuthenticationError = define('AuthenticationError', STATUS.AUTH, 'ENVECTOR_ERR_AUTH');
/** Data does not parse or does not check out. */
const CorruptDataError = define('CorruptDataError', STATUS.CORRUPT, 'ENVECTOR_ERR_CORRUPT');
/** The local file system failed. */
const StorageIOError = define('StorageIOError', STATUS.IO, 'ENVECTOR_ERR_IO');
/** A remote store (AWS) failed. */
const RemoteStoreError = define('RemoteStoreError', STATUS.REMOTE, 'ENVECTOR_ERR_REMOTE');
/** A bug or broken invariant inside the library. */
const InternalError = define('InternalError', STATUS.INTERNAL, 'ENVECTOR_ERR_INTERNAL');
/**
 * The key set is not active (preparing, deactivated, destroyed) or has expired, so it is
 * refused for use; KeyManager.state() and loadVersion() read it whatever its state.
 */
const KeyInactiveError = define('KeyInactiveError', STATUS.KEY_INACTIVE, 'ENVECTOR_ERR_KEY_INACTIVE');

/** Use of an object after close(). */
class ClosedError extends InvalidArgumentError {}

const BY_STATUS = new Map([
  [STATUS.INVALID_ARGUMENT, InvalidArgumentError],
  [STATUS.NOT_FOUND, NotFoundError],
  [STATUS.ALREADY_EXISTS, AlreadyExistsError],
  [STATUS.AUTH, AuthenticationError],
  [STATUS.CORRUPT, CorruptDataError],
  [STATUS.IO, StorageIOError],
  [STATUS.REMOTE, RemoteStoreError],
  [STATUS.INTERNAL, InternalError],
  [STATUS.KEY_INACTIVE, KeyInactiveError],
]);

// fromStatus makes the error of a C status; an unknown status is an InternalError
// that keeps the number (the header: treat unknown codes like INTERNAL).
function fromStatus(status, message) {
  const cls = BY_STATUS.get(status);
  if (cls) return new cls(message);
  const e = new InternalError(`${message} (unknown status ${status})`);
  e.status = status;
  return e;
}

// ---- values in messages (internal) ---------------------------------------------------

// How much of a value a message shows: a string its first SHOWN characters and '...', as
// the library shows a quoted value; a path or another error's message its first
// SHOWN_TEXT characters. So no value of any length (a 1 MB key id) fills a message.
const SHOWN = 40;
const SHOWN_TEXT = 256;

// shown is value for a message, quoted (JSON) and cut: a string shows at most its first
// 40 characters, then '...'; another value its JSON (or String) form, cut alike.
function shown(value) {
  if (typeof value === 'string') {
    return value.length > SHOWN ? `${JSON.stringify(value.slice(0, SHOWN))}...` : JSON.stringify(value);
  }
  let text;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined; // a BigInt, a cycle
  }
  if (typeof text !== 'string') text = String(value);
  return text.length > 2 * SHOWN ? `${text.slice(0, 2 * SHOWN)}...` : text;
}

// shownText is text for a message (a path, another error's message), unquoted, cut to its
// first 256 characters, then '...'.
function shownText(text) {
  const t = String(text);
  return t.length > SHOWN_TEXT ? `${t.slice(0, SHOWN_TEXT)}...` : t;
}

module.exports = {
  STATUS,
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
  fromStatus,
  shown,
  shownText,
};
