/**
 * The part of react-native-quick-crypto's node:crypto-compatible API that `react-native.ts`
 * uses, declared here so that `core` typechecks without installing React Native (the
 * package is installed by apps, and by packages/react-native/example, whose `npm run
 * bundle:rn` typechecks `react-native.ts` against the real package's own types).
 */
declare module 'react-native-quick-crypto' {
  /** A Buffer of @craftzdog/react-native-buffer: a Uint8Array subclass. */
  type QcBuffer = Uint8Array;
  interface Cipher {
    setAAD(aad: Uint8Array): Cipher;
    update(data: Uint8Array): QcBuffer;
    final(): QcBuffer;
    getAuthTag(): QcBuffer;
  }
  interface Decipher {
    setAAD(aad: Uint8Array): Decipher;
    setAuthTag(tag: Uint8Array): Decipher;
    update(data: Uint8Array): QcBuffer;
    final(): QcBuffer;
  }
  interface Hash {
    update(data: Uint8Array): Hash;
    digest(): QcBuffer;
  }
  export function createCipheriv(
    algorithm: string,
    key: Uint8Array,
    iv: Uint8Array,
    options: { authTagLength: number },
  ): Cipher;
  export function createDecipheriv(
    algorithm: string,
    key: Uint8Array,
    iv: Uint8Array,
    options: { authTagLength: number },
  ): Decipher;
  export function pbkdf2(
    password: Uint8Array,
    salt: Uint8Array,
    iterations: number,
    keylen: number,
    digest: string,
    callback: (err: Error | null, derivedKey?: QcBuffer) => void,
  ): void;
  export function createHmac(algorithm: string, key: Uint8Array): Hash;
  export function createHash(algorithm: string): Hash;
  export function getRandomValues<T extends ArrayBufferView | null>(data: T): T;
  export function install(): void;
}
