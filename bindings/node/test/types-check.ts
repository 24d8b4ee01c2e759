// Compiled (never run) by test/package.test.js with `tsc --noEmit` against the installed
// package: every part of index.d.ts used once, as an application would.
import {
  KeyGenerator, KeyManager, init, initIndexConfig, libraryVersion, libraryPath, ROLES,
  EnvectorError, InvalidArgumentError, NotFoundError, AlreadyExistsError, AuthenticationError,
  CorruptDataError, StorageIOError, RemoteStoreError, InternalError, ClosedError,
  type KeyBlobs, type PartialKeyBlobs, type InitResult, type RegisterInfo, type Role, type ErrorCode,
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
  km.close();
  km[Symbol.dispose]();

  const register = async (keyId: string, evalKey: Buffer, info: RegisterInfo): Promise<void> => {
    console.log(keyId, evalKey.length, info.sealed, info.keyStore);
  };
  const r: InitResult = await init({ keyId: 'k', keyPath: './keys', autoKeySetup: true, register });
  const r2 = await initIndexConfig({ keyId: 'k', keyStore: 'aws', regionName: 'eu-west-1', autoKeySetup: false });
  console.log(r.created, r.registered, r2.sealed, r2.keys.evalBlob.length, meta, full, sec, exists, ids, ok);
  console.log(libraryVersion(), libraryPath, ROLES.length);

  try {
    await km.listKeys();
  } catch (e) {
    if (e instanceof EnvectorError) {
      const code: ErrorCode = e.code;
      console.log(code, e.status);
    }
    for (const cls of [InvalidArgumentError, NotFoundError, AlreadyExistsError, AuthenticationError,
      CorruptDataError, StorageIOError, RemoteStoreError, InternalError, ClosedError]) {
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
