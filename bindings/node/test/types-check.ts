// Compiled (never run) by test/package.test.js with `tsc --noEmit` against the installed
// package: every part of index.d.ts used once, as an application would.
import {
  KeyGenerator, KeyManager, init, initSync, initIndexConfig, initIndexConfigSync, libraryVersion, libraryPath, ROLES,
  EnvectorError, InvalidArgumentError, NotFoundError, AlreadyExistsError, AuthenticationError,
  CorruptDataError, StorageIOError, RemoteStoreError, InternalError, KeyInactiveError, ClosedError,
  type KeyBlobs, type PartialKeyBlobs, type InitResult, type RegisterInfo, type RegistrationInfo, type Role, type ErrorCode,
  type KeyState, type KeySetListing, type KeyStateName, type Requester,
} from 'envector-keys';

export async function everything(): Promise<void> {
  const gen = new KeyGenerator({ keyId: 'k', keyPath: './keys', dimList: [32, 64], preset: 'ip2', evalMode: 'flat',
    metadataEncryption: false, sealMode: 'aes', sealKekPath: '/kek', seed: Buffer.alloc(64) });
  await gen.generateKeys();
  gen.generateKeysSync();
  const keys: KeyBlobs = await gen.generateKeysStream();
  const meta: Buffer | null = gen.generateKeysStreamSync().metadataBlob;

  const km = new KeyManager({ keyStore: 'aws', regionName: 'us-east-1', bucketName: 'b', secretPrefix: '', keyId: 'k' });
  await km.open();
  await km.save(keys, { keyId: 'k2' });
  km.saveSync({ secBlob: keys.secBlob, encBlob: keys.encBlob, evalBlob: keys.evalBlob });
  const full: KeyBlobs = await km.load();
  const roles: Role[] = ['EncKey', 'EvalKey'];
  const part: PartialKeyBlobs = await km.load({ roles });
  const sec: Buffer | null = part.secBlob;
  const exists: boolean = await km.verifyKeyId('k');
  const ids: string[] = km.listKeysSync();
  const ok: true = await km.verify({ sealKekPath: '/kek' });
  km.verifySync({ kek: Buffer.alloc(32) });
  await km.delete({ immediate: true });

  const st: KeyState = await km.state({ version: 1 });
  const name: KeyStateName | string = st.state;
  const by: Requester | null = st.changedBy;
  const expires: string | null = st.expiresAt;
  const v: number = km.stateSync().version;
  const moved: KeyState = await km.setState('deactivated', 'rotated out', { compromised: false, sealKekPath: '/kek' });
  km.setStateSync('destroyed', 'done', { kek: Buffer.alloc(32) });
  await km.reseal({ newKek: Buffer.alloc(32), kek: 'hex' });
  km.resealSync({ newSealKekPath: '/new', sealKekPath: '/kek', keyId: 'k' });
  const rotated: KeyState = await km.rotate({ reason: 'yearly', preset: 'ip0', evalMode: 'rmp', dimList: [32],
    metadataEncryption: true, lifetimeDays: 365, seed: Buffer.alloc(64), kek: Buffer.alloc(32) });
  km.rotateSync();
  const old: KeyBlobs = await km.loadVersion(1);
  const oldPart: PartialKeyBlobs = km.loadVersionSync(1, { roles: ['MetadataKey'] });
  const sets: KeySetListing[] = await km.listSets();
  const versions: number[] = km.listSetsSync()[0].versions;
  const roles2: Role[] = sets[0].roles;
  console.log(name, by, expires, v, moved.reason, rotated.compromised, old.secBlob, oldPart.metadataBlob, versions, roles2, sets[0].complete);
  await new KeyGenerator({ keyId: 'k', lifetimeDays: 30 }).generateKeys();
  const sealedKeys: KeyBlobs = await new KeyGenerator({ keyId: 'k', kek: Buffer.alloc(32), preset: 'IP0', evalMode: 'RMP' }).generateKeysStream();
  new KeyGenerator({ keyId: 'k', kek: 'ab'.repeat(32), sealMode: 'aes' }).generateKeysSync();
  console.log(sealedKeys.secBlob.length);
  new KeyManager({ keyStore: 'aws', regionName: 'us-east-1', awsTimeoutSeconds: 2.5 }).close();
  km.close();
  km[Symbol.dispose]();

  const register = async (keyId: string, evalKey: Buffer, info: RegisterInfo): Promise<void> => {
    console.log(keyId, evalKey.length, info.sealed, info.keyStore);
  };
  const r: InitResult = await init({ keyId: 'k', keyPath: './keys', autoKeySetup: true, register });
  const r2 = await initIndexConfig({ keyId: 'k', keyStore: 'aws', regionName: 'eu-west-1', autoKeySetup: false, awsTimeoutSeconds: 10 });
  console.log(r.created, r.registered, r2.sealed, r2.keys.evalBlob.length, meta, full, sec, exists, ids, ok);
  const r3: InitResult = initSync({ keyId: 'k', address: 'grpcs://keys.example.com:443', token: 't', tls: true,
    caFile: '/ca.pem', timeoutSeconds: 10, registerTimeoutSeconds: 600, sealMode: 'aes', kek: Buffer.alloc(32) });
  const r4 = initIndexConfigSync({ keyId: 'k', address: 'localhost:50050', tokenFile: '/token' });
  const ri: RegistrationInfo = r3.registrationInfo;
  const loadedKeys: KeyBlobs = await r4.loadKeys();
  console.log(r3.address, r3.loaded, r3.unloaded, r3.warnings, r3.evalKeySha256, r3.evalKeySize, r3.version, r3.preset,
    r3.evalMode, r3.dimList, r3.metadataEncryption, ri.envectorPreset, ri.evalKeySha256, loadedKeys.evalBlob);
  console.log(libraryVersion(), libraryPath, ROLES.length);

  try {
    await km.listKeys();
  } catch (e) {
    if (e instanceof EnvectorError) {
      const code: ErrorCode = e.code;
      console.log(code, e.status);
    }
    for (const cls of [InvalidArgumentError, NotFoundError, AlreadyExistsError, AuthenticationError,
      CorruptDataError, StorageIOError, RemoteStoreError, InternalError, KeyInactiveError, ClosedError]) {
      if (e instanceof cls) console.log(cls.name);
    }
  }
}

// Mistakes the types catch.
// @ts-expect-error keyId is required
new KeyGenerator({ dimList: [32] });
// @ts-expect-error no such store
new KeyManager({ keyStore: 'gcs' });
// @ts-expect-error roles are named
void new KeyManager().load({ roles: ['PrivateKey'] });
// @ts-expect-error only the states a set moves to
void new KeyManager().setState('preparing', 'r');
// @ts-expect-error reseal needs its options (the new KEK)
void new KeyManager().reseal();
// @ts-expect-error not an enVector preset
new KeyGenerator({ keyId: 'k', preset: 'ip9' });
// @ts-expect-error not an eval mode
new KeyGenerator({ keyId: 'k', evalMode: 'mm64' });
// @ts-expect-error not a seal mode
new KeyGenerator({ keyId: 'k', sealMode: 'rsa' });
// @ts-expect-error true or false only
new KeyGenerator({ keyId: 'k', metadataEncryption: 'yes' });
// @ts-expect-error a KEK is bytes or a string
new KeyGenerator({ keyId: 'k', kek: 42 });
// @ts-expect-error true or false only
void new KeyManager().delete({ immediate: 'x' });
// @ts-expect-error a number of seconds
new KeyManager({ keyStore: 'aws', awsTimeoutSeconds: '30s' });
// @ts-expect-error options are named in camelCase
new KeyGenerator({ keyId: 'k', dim_list: [32] });
