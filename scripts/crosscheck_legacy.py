#!/usr/bin/env python3
"""Independent Python implementation of Noah Backup's legacy formats and LNURL-auth
linking-key derivation, for differential tests against the TypeScript code in
packages/core (STYLE.md: "a second language for the formats").

Written from docs/FORMAT.md sections 3 and 4 and LUD-05, not from the TypeScript
sources. Needs Python 3.8+ and the `cryptography` package.

Usage:
  NOAH_SEEDPHRASE='...' crosscheck_legacy.py encrypt --format seed-v0|noah-v1 \
      --in PLAIN --out BLOB [--iv HEX] [--salt HEX]
  NOAH_SEEDPHRASE='...' crosscheck_legacy.py decrypt --format seed-v0|noah-v1 \
      --in BLOB --out PLAIN
  NOAH_SEED_HEX=... crosscheck_legacy.py lnurl-key --domain HOST [--domain HOST ...]
      (prints each 33-byte compressed linking public key as hex, one per line)

The seedphrase is read from the environment as raw bytes and decoded as strict UTF-8,
so multi-byte phrases and surrounding whitespace survive intact. Exit codes: 0 success,
1 authentication failure, 2 malformed input or usage error.
"""

import argparse
import base64
import binascii
import hashlib
import hmac
import os
import sys

try:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
except ImportError as exc:  # pragma: no cover - reported to the caller
    sys.stderr.write(
        "crosscheck_legacy.py needs the Python 'cryptography' package "
        "(apt-get install python3-cryptography, or pip install cryptography): %s\n" % exc
    )
    sys.exit(3)

# FORMAT.md §3.1: characters with the Unicode White_Space property are trimmed.
WHITE_SPACE = (
    "\u0009\u000a\u000b\u000c\u000d\u0020\u0085\u00a0\u1680"
    "\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
SEED_V0_ITERATIONS = 10_000
NOAH_V1_ITERATIONS = 600_000
NOAH_V1_VERSION = 0x01
IV_LEN, SALT_LEN, TAG_LEN, KEY_LEN = 12, 16, 16, 32


class Malformed(Exception):
    """The input is not a legacy backup (bad base64, too short, wrong version)."""


def passphrase_bytes(seedphrase):
    trimmed = seedphrase.strip(WHITE_SPACE)
    if not trimmed:
        raise Malformed("empty seedphrase")
    return trimmed.encode("utf-8")


def pbkdf2(password, salt, iterations):
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=KEY_LEN, salt=salt, iterations=iterations)
    return kdf.derive(password)


def seed_v0_key(password):
    # FORMAT.md §3.2: salt = SHA-256(UTF8(seedphrase))[0..16]
    return pbkdf2(password, hashlib.sha256(password).digest()[:SALT_LEN], SEED_V0_ITERATIONS)


def b64decode_strict(text):
    # FORMAT.md §3.3: CR and LF are ignored anywhere (line-wrapped base64), other
    # whitespace only at the end; anything else must be strict base64.
    text = text.rstrip(b" \t\r\n").replace(b"\r", b"").replace(b"\n", b"")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Malformed("invalid base64") from exc


def encrypt(fmt, plaintext, password, iv=None, salt=None):
    iv = iv if iv is not None else os.urandom(IV_LEN)
    if fmt == "seed-v0":
        body = iv + AESGCM(seed_v0_key(password)).encrypt(iv, plaintext, None)
    else:
        salt = salt if salt is not None else os.urandom(SALT_LEN)
        key = pbkdf2(password, salt, NOAH_V1_ITERATIONS)
        body = bytes([NOAH_V1_VERSION]) + salt + iv + AESGCM(key).encrypt(iv, plaintext, None)
    return base64.b64encode(body)


def decrypt(fmt, blob, password):
    raw = b64decode_strict(blob)
    if fmt == "seed-v0":
        if len(raw) < IV_LEN + TAG_LEN:
            raise Malformed("too short")
        key, iv, sealed = seed_v0_key(password), raw[:IV_LEN], raw[IV_LEN:]
    else:
        if len(raw) < 1 + SALT_LEN + IV_LEN + TAG_LEN:
            raise Malformed("too short")
        if raw[0] != NOAH_V1_VERSION:
            raise Malformed("not noah-v1")
        salt = raw[1 : 1 + SALT_LEN]
        iv = raw[1 + SALT_LEN : 1 + SALT_LEN + IV_LEN]
        sealed = raw[1 + SALT_LEN + IV_LEN :]
        key = pbkdf2(password, salt, NOAH_V1_ITERATIONS)
    return AESGCM(key).decrypt(iv, sealed, None)


# --- LUD-05 linking key, with BIP32 (CKDpriv) written out -------------------------

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
HARDENED = 0x80000000


def compressed_point(k):
    pub = ec.derive_private_key(k, ec.SECP256K1()).public_key()
    return pub.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)


def ckd_priv(k, chain, index):
    # BIP32 "Private parent key -> private child key"
    if index >= HARDENED:
        data = b"\x00" + k.to_bytes(32, "big") + index.to_bytes(4, "big")
    else:
        data = compressed_point(k) + index.to_bytes(4, "big")
    i = hmac.new(chain, data, hashlib.sha512).digest()
    il = int.from_bytes(i[:32], "big")
    child = (il + k) % N
    if il >= N or child == 0:  # probability < 2^-127; BIP32 says use the next index
        return ckd_priv(k, chain, index + 1)
    return child, i[32:]


def linking_public_key(seed, domain):
    i = hmac.new(b"Bitcoin seed", seed, hashlib.sha512).digest()
    k, chain = int.from_bytes(i[:32], "big"), i[32:]
    k138, c138 = ckd_priv(k, chain, 138 + HARDENED)
    hashing_key, _ = ckd_priv(k138, c138, 0)
    material = hmac.new(hashing_key.to_bytes(32, "big"), domain.encode("utf-8"), hashlib.sha256)
    digest = material.digest()
    k, chain = k138, c138
    for j in range(4):
        k, chain = ckd_priv(k, chain, int.from_bytes(digest[4 * j : 4 * j + 4], "big"))
    return compressed_point(k)


def env_text(name):
    raw = os.environb.get(name.encode())
    if raw is None:
        raise Malformed("environment variable %s is not set" % name)
    return raw.decode("utf-8")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("encrypt", "decrypt"):
        p = sub.add_parser(name)
        p.add_argument("--format", required=True, choices=["seed-v0", "noah-v1"])
        p.add_argument("--in", dest="inp", required=True)
        p.add_argument("--out", required=True)
        if name == "encrypt":
            p.add_argument("--iv", help="fixed IV as hex (test vectors only)")
            p.add_argument("--salt", help="fixed noah-v1 salt as hex (test vectors only)")
    p = sub.add_parser("lnurl-key")
    p.add_argument("--domain", required=True, action="append")
    args = parser.parse_args(argv)

    try:
        if args.command == "lnurl-key":
            seed = bytes.fromhex(env_text("NOAH_SEED_HEX"))
            for domain in args.domain:
                print(linking_public_key(seed, domain).hex())
            return 0
        password = passphrase_bytes(env_text("NOAH_SEEDPHRASE"))
        with open(args.inp, "rb") as f:
            data = f.read()
        if args.command == "encrypt":
            iv = bytes.fromhex(args.iv) if args.iv else None
            salt = bytes.fromhex(args.salt) if args.salt else None
            out = encrypt(args.format, data, password, iv, salt)
        else:
            out = decrypt(args.format, data, password)
        with open(args.out, "wb") as f:
            f.write(out)
        return 0
    except InvalidTag:
        sys.stderr.write("decryption failed\n")
        return 1
    except (Malformed, UnicodeDecodeError, ValueError) as exc:
        sys.stderr.write("malformed input: %s\n" % exc)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
