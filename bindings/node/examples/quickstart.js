// Quickstart: make a sealed key set with init(), load it with KeyManager, verify it.
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { init, KeyManager } = require('envector-keys');

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'envector-quickstart-'));
  const kekPath = path.join(dir, 'kek.hex'); // keep the KEK away from the keys
  fs.writeFileSync(kekPath, crypto.randomBytes(32).toString('hex'), { mode: 0o600 });
  const keyPath = path.join(dir, 'keys');

  // A small key set, so that the example runs in a moment: enVector's preset ip0 with
  // eval mode rmp. Without preset and evalMode, init makes enVector's default, ip3 with
  // mm32 (as enVector's SDK): a 1.2 GB EvalKey, which init also returns in memory
  // (about 12 s and 5 GB of memory).
  const setup = await init({
    keyPath, keyId: 'my-index', preset: 'ip0', evalMode: 'rmp', dimList: [128, 256],
    sealMode: 'aes', sealKekPath: kekPath,
    register: async (keyId, evalKey) => console.log(`register ${keyId}: EvalKey ${evalKey.length} bytes`),
  });
  console.log(`created ${setup.created}, sealed ${setup.sealed}`);

  const km = new KeyManager({ keyPath, keyId: 'my-index' });
  try {
    const keys = await km.load();
    console.log('loaded', Object.entries(keys).map(([k, b]) => `${k} ${b.length} B`).join(', '));
    await km.verify({ sealKekPath: kekPath });
    console.log('verified; key sets:', await km.listKeys());
  } finally {
    km.close();
    fs.rmSync(dir, { recursive: true, force: true }); // a real application keeps its keys
  }
}

main().catch((e) => { console.error(e); process.exitCode = 1; });
