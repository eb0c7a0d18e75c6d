/**
 * Bucket configurations s3rver does not speak (policy, lifecycle, default encryption,
 * public access block: it answers 501 NotImplemented), kept by the S3 harness's front
 * when a test asks for them (`startS3Harness({ bucketConfig: true })`), as S3 keeps
 * them: a PUT must carry Content-MD5 or an x-amz-checksum-* header that matches the body,
 * and a body S3 would take (well-formed XML with the operation's root element in S3's
 * namespace, or a JSON policy with statements), else the S3 error; a GET answers the
 * stored document, or 404 with the operation's "no such configuration" code; a DELETE
 * removes it. CORS stays s3rver's own (it implements it, preflights included).
 * @module
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { crc32 } from 'node:zlib';
import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** The subresources kept here, with S3's code for "none" and the XML root element. */
export const LOCAL_SUBRESOURCES = {
  policy: { missing: 'NoSuchBucketPolicy', root: null },
  lifecycle: { missing: 'NoSuchLifecycleConfiguration', root: 'LifecycleConfiguration' },
  encryption: {
    missing: 'ServerSideEncryptionConfigurationNotFoundError',
    root: 'ServerSideEncryptionConfiguration',
  },
  publicAccessBlock: {
    missing: 'NoSuchPublicAccessBlockConfiguration',
    root: 'PublicAccessBlockConfiguration',
  },
} as const;

/** A subresource kept here. */
export type LocalSubresource = keyof typeof LOCAL_SUBRESOURCES;

const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';

/** The documents of one bucket, and every accepted PUT's body. */
export interface BucketConfigStore {
  documents: Map<LocalSubresource, string>;
  puts: { subresource: LocalSubresource; body: string }[];
}

interface Refusal {
  status: number;
  code: string;
  message: string;
}

function refusal(body: Buffer, req: IncomingMessage, sub: LocalSubresource): Refusal | null {
  const md5 = req.headers['content-md5'];
  const crc = req.headers['x-amz-checksum-crc32'];
  const other = Object.keys(req.headers).some(
    (h) => h.startsWith('x-amz-checksum-') && h !== 'x-amz-checksum-crc32',
  );
  if (md5 === undefined && crc === undefined && !other)
    return {
      status: 400,
      code: 'InvalidRequest',
      message: 'Missing required header for this request: Content-MD5 OR x-amz-checksum-*',
    };
  if (md5 !== undefined && md5 !== createHash('md5').update(body).digest('base64'))
    return {
      status: 400,
      code: 'BadDigest',
      message: 'The Content-MD5 you specified did not match',
    };
  if (crc !== undefined) {
    const want = Buffer.alloc(4);
    want.writeUInt32BE(crc32(body));
    if (crc !== want.toString('base64'))
      return { status: 400, code: 'BadDigest', message: 'The CRC32 you specified did not match' };
  }
  const text = body.toString('utf8');
  const root = LOCAL_SUBRESOURCES[sub].root;
  if (root === null) {
    let doc: { Statement?: unknown } | null = null;
    try {
      doc = JSON.parse(text) as { Statement?: unknown };
    } catch {}
    return doc && typeof doc === 'object' && doc.Statement
      ? null
      : { status: 400, code: 'MalformedPolicy', message: 'Policies must be valid JSON' };
  }
  const malformed = {
    status: 400,
    code: 'MalformedXML',
    message:
      'The XML you provided was not well-formed or did not validate against our published schema',
  };
  if (XMLValidator.validate(text) !== true) return malformed;
  const parsed = new XMLParser({ ignoreAttributes: false }).parse(text) as Record<
    string,
    Record<string, unknown>
  >;
  const top = parsed[root];
  return top && top['@_xmlns'] === S3_NAMESPACE ? null : malformed;
}

/**
 * Parses an S3 XML document (attributes as `@_name`; `Rule` and `Transition` always
 * lists), for tests that look at what went over the wire.
 */
export function parseS3Xml(text: string): Record<string, Record<string, unknown>> {
  return new XMLParser({
    ignoreAttributes: false,
    isArray: (name) => ['Rule', 'Transition', 'Statement'].includes(name),
  }).parse(text) as Record<string, Record<string, unknown>>;
}

function answerError(res: ServerResponse, r: Refusal): void {
  res.writeHead(r.status, { 'content-type': 'application/xml' });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${r.code}</Code><Message>${r.message}</Message></Error>`,
  );
}

/**
 * Answers a bucket configuration request (already authenticated by the front).
 *
 * @returns false when the request is not one of these (forward it to s3rver)
 */
export function answerBucketConfig(
  store: BucketConfigStore,
  sub: LocalSubresource,
  req: IncomingMessage,
  body: Buffer,
  res: ServerResponse,
): boolean {
  const method = req.method ?? 'GET';
  if (method === 'PUT') {
    const r = refusal(body, req, sub);
    if (r) {
      answerError(res, r);
      return true;
    }
    const text = body.toString('utf8');
    store.documents.set(sub, text);
    store.puts.push({ subresource: sub, body: text });
    res.writeHead(sub === 'policy' ? 204 : 200);
    res.end();
    return true;
  }
  if (method === 'GET') {
    const doc = store.documents.get(sub);
    if (doc === undefined) {
      answerError(res, {
        status: 404,
        code: LOCAL_SUBRESOURCES[sub].missing,
        message: 'The configuration does not exist',
      });
      return true;
    }
    res.writeHead(200, {
      'content-type': sub === 'policy' ? 'application/json' : 'application/xml',
    });
    res.end(doc);
    return true;
  }
  if (method === 'DELETE') {
    store.documents.delete(sub);
    res.writeHead(204);
    res.end();
    return true;
  }
  return false;
}
