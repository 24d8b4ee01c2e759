'use strict';
// Runs an operation, written once as a generator of steps, either synchronously (every
// C call on the calling thread) or asynchronously (every C call that enters Go on a
// koffi worker thread, so the event loop keeps turning).
//
// Why: a call into Go from Node's main thread costs ~0.1-0.2 ms (the Go runtime looks up
// the thread's stack bounds on each such call), while koffi's asynchronous calls run on
// worker threads where it is cheap. Operations therefore yield every call that enters
// Go, and independent calls together (an array of steps) so that one round trip covers
// them. Calls that stay in C (envector_bytes_free and friends) are made directly.
//
// Steps an operation yields:
//   call(name, ...args)     a C function whose last parameter is `envector_error **`;
//                           resumes with 0, or throws the mapped Error into the generator
//                           (a step with `names`, {cName: 'ourName'}, names the C
//                           function's arguments so in its message; see apiMessage)
//   soft(step, expected)    the same, but resumes with the Error instead of throwing;
//                           with `expected` (a status), that status resumes as the
//                           number itself and its error object is freed unread
//   release(name, handle)   a _free function; in async mode it is not waited for
//   js({sync, async})       JavaScript work (file reads, user callbacks)
//   [step, step, ...]       soft steps run together; resumes with their results
//
// runSync(gen, who) and runAsync(gen, who) name the public method that runs (e.g.
// 'KeyManager.save'): the error of a failed C call names it and the options in camelCase,
// not the C function and the options JSON's keys (errors.apiMessage).

const { fn } = require('./native');
const { fromStatus, apiMessage, InvalidArgumentError, shownText } = require('./errors');

function call(name, ...args) {
  const errOut = [null];
  return { name, fn: fn[name], args: [...args, errOut], errOut, soft: false, expected: undefined };
}

function soft(step, expected = undefined) {
  return { ...step, soft: true, expected };
}

function release(name, handle) {
  return { name, fn: fn[name], args: [handle], errOut: null, release: true };
}

function js(work) {
  return { js: work };
}

// A koffi exception (an argument it cannot convert) is the caller's mistake.
function conversionError(step, e, who) {
  return new InvalidArgumentError(`${who || step.name}: ${shownText(e.message)}`, { cause: e });
}

function failureMessage(step, status) {
  return `${step.name}: failed with status ${status}`;
}

// failed is the Error of a C call that returned status with message, named for `who`
// (and the step's own names of C arguments, if it has them: see errors.apiMessage).
function failed(status, message, who, names = null) {
  return fromStatus(status, who ? apiMessage(message, who, status, names) : message);
}

// ---- synchronous ---------------------------------------------------------------------

function errorSync(step, status, who) {
  const ptr = step.errOut && step.errOut[0];
  if (!ptr) return failed(status, failureMessage(step, status), who);
  if (step.expected === status) {
    fn.envector_error_free(ptr);
    return status;
  }
  const message = fn.envector_error_message(ptr);
  fn.envector_error_free(ptr);
  return failed(status, message, who, step.names);
}

function execSync(step, who) {
  let status;
  try {
    status = step.fn(...step.args);
  } catch (e) {
    return conversionError(step, e, who);
  }
  if (status === 0) return 0;
  return errorSync(step, status, who);
}

function releaseSync(step) {
  let status;
  try {
    status = step.fn(...step.args);
  } catch (e) {
    status = e.message;
  }
  if (status !== 0) ignoreResult(step.name)(null, status);
}

function stepSync(step, who) {
  if (Array.isArray(step)) return [step.map((s) => execSync(s, who)), false];
  if (step.release) {
    releaseSync(step);
    return [0, false];
  }
  if (step.js) {
    try {
      return [step.js.sync(), false];
    } catch (e) {
      return [e, true];
    }
  }
  const r = execSync(step, who);
  return [r, r !== 0 && !step.soft && typeof r !== 'number'];
}

function runSync(gen, who) {
  let input;
  let threw = false;
  for (;;) {
    const r = threw ? gen.throw(input) : gen.next(input);
    if (r.done) return r.value;
    [input, threw] = stepSync(r.value, who);
  }
}

// ---- asynchronous --------------------------------------------------------------------

// koffi refuses more than max_async_calls (256) asynchronous calls under way at once;
// past MAX_IN_FLIGHT calls wait here, in order, so a burst of operations queues
// instead of failing. (koffi's own worker threads number fewer anyway.)
const MAX_IN_FLIGHT = 64;
let inFlight = 0;
const waiting = [];

function startAsync(f, args, done) {
  if (inFlight >= MAX_IN_FLIGHT) {
    waiting.push([f, args, done]);
    return;
  }
  inFlight++;
  const finish = (err, res) => {
    inFlight--;
    if (waiting.length > 0) startAsync(...waiting.shift());
    done(err, res);
  };
  try {
    f.async(...args, finish);
  } catch (e) {
    finish(e);
  }
}

function callAsync(f, args) {
  return new Promise((resolve, reject) => {
    startAsync(f, args, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

// detach frees handle with the _free function `name` without waiting for it.
function detach(name, handle) {
  startAsync(fn[name], [handle], ignoreResult(name));
}

function ignoreResult(name) {
  return (err, status) => {
    if (err || status !== 0) {
      process.emitWarning(`envector-keys: ${name} failed (${err ? err.message : `status ${status}`})`, 'EnvectorWarning');
    }
  };
}

async function errorAsync(step, status, who) {
  const ptr = step.errOut && step.errOut[0];
  if (!ptr) return failed(status, failureMessage(step, status), who);
  if (step.expected === status) {
    detach('envector_error_free', ptr);
    return status;
  }
  const message = await callAsync(fn.envector_error_message, [ptr]);
  detach('envector_error_free', ptr);
  return failed(status, message, who, step.names);
}

async function execAsync(step, who) {
  if (step.release) {
    detach(step.name, step.args[0]);
    return 0;
  }
  let status;
  try {
    status = await callAsync(step.fn, step.args);
  } catch (e) {
    return conversionError(step, e, who);
  }
  if (status === 0) return 0;
  return errorAsync(step, status, who);
}

async function stepAsync(step, who) {
  if (Array.isArray(step)) return [await Promise.all(step.map((s) => execAsync(s, who))), false];
  if (step.js) {
    try {
      return [await step.js.async(), false];
    } catch (e) {
      return [e, true];
    }
  }
  const r = await execAsync(step, who);
  return [r, r !== 0 && !step.soft && typeof r !== 'number'];
}

async function runAsync(gen, who) {
  let input;
  let threw = false;
  for (;;) {
    const r = threw ? gen.throw(input) : gen.next(input);
    if (r.done) return r.value;
    [input, threw] = await stepAsync(r.value, who);
  }
}

module.exports = { call, soft, release, js, detach, runSync, runAsync };
