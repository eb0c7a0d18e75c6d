/**
 * `noah-backup admin s3-setup [--print] [--kms-key-id KEY] [--no-transition]`: puts on
 * the bucket of BLOB_STORE_URL what docs/OPERATIONS.md "The bucket" describes (public
 * access block, a policy denying non-TLS and anonymous requests, CORS for PUBLIC_URL's
 * origin, lifecycle rules, default encryption), or with `--print` prints the requests
 * as JSON without contacting the bucket. Idempotent: items the bucket already has are
 * left alone and reported `unchanged`. Exit 0 when every item is applied or unchanged,
 * 1 when one is unsupported by the service or failed, 78 for bad configuration.
 * @module
 */
import type { Command } from 'commander';

const EXIT_FAILED = 1;
const EXIT_CONFIG = 78;

interface Flags {
  print?: boolean;
  kmsKeyId?: string;
  transition?: boolean;
}

function fail(message: string, hint: string | null, code: number): void {
  process.stderr.write(
    `noah-backup admin s3-setup: error: ${message}\n${hint ? `hint: ${hint}\n` : ''}`,
  );
  process.exitCode = code;
}

/**
 * Adds `s3-setup` to the `admin` command group.
 *
 * @param admin - the `admin` command
 * @param config - loads the server configuration (null after reporting a problem)
 */
export function registerS3Setup(
  admin: Command,
  config: (
    command: string,
    flags: { data?: string },
  ) => Promise<import('@noah-backup/server/config').ServerConfig | null>,
): void {
  admin
    .command('s3-setup')
    .description(
      'Apply the bucket\'s policy, public access block, CORS, lifecycle rules and default encryption (docs/OPERATIONS.md "The bucket")',
    )
    .option('--print', 'print the requests as JSON instead of applying them')
    .option(
      '--kms-key-id <key>',
      'default encryption with this KMS key (SSE-KMS) instead of SSE-S3',
    )
    .option('--no-transition', 'leave out the move of stale backups to STANDARD_IA')
    .action(async (flags: Flags) => {
      const cfg = await config('s3-setup', {});
      if (!cfg) return;
      if (!cfg.blobStoreUrl.startsWith('s3://'))
        return fail(
          'BLOB_STORE_URL is not an s3:// URL: there is no bucket to set up',
          'set BLOB_STORE_URL=s3://bucket?region=… (the fs store needs none of this)',
          EXIT_CONFIG,
        );
      const { setupClient, setupRequests, applyBucketSetup } = await import(
        '@noah-backup/server/blob/s3-setup'
      );
      const { bucketSetup } = await import('@noah-backup/server/blob/s3-setup-documents');
      let target: ReturnType<typeof setupClient>;
      try {
        target = setupClient(cfg.blobStoreUrl, cfg.s3DefaultRegion);
      } catch (err) {
        return fail((err as Error).message, null, EXIT_CONFIG);
      }
      if (flags.kmsKeyId && target.sse === 'AES256')
        return fail(
          'BLOB_STORE_URL has sse=AES256, which makes every upload SSE-S3 whatever the default',
          'drop sse=AES256 from BLOB_STORE_URL to have uploads use the KMS default',
          EXIT_CONFIG,
        );
      const setup = bucketSetup({
        bucket: target.bucket,
        prefix: target.prefix,
        publicUrl: cfg.publicUrl,
        kmsKeyId: flags.kmsKeyId ?? null,
        transition: flags.transition !== false,
      });
      if (flags.print) {
        target.client.destroy();
        process.stdout.write(`${JSON.stringify(setupRequests(setup), null, 2)}\n`);
        return;
      }
      let results: Awaited<ReturnType<typeof applyBucketSetup>>;
      try {
        results = await applyBucketSetup(target.client, setup);
      } finally {
        target.client.destroy();
      }
      const lines = results.map((r) => {
        const what =
          r.status === 'unsupported'
            ? `unsupported by this service (${r.code})`
            : r.status === 'failed'
              ? `failed (${r.code})`
              : r.status;
        return `  ${r.item.padEnd(20)} ${what}`;
      });
      const changed = results.filter((r) => r.status === 'applied').length;
      const bad = results.filter((r) => r.status === 'unsupported' || r.status === 'failed');
      const summary =
        changed === 0 && bad.length === 0
          ? 'nothing changed: the bucket already has this set-up'
          : `${changed} applied, ${results.length - changed - bad.length} unchanged, ${bad.length} not applied`;
      process.stdout.write(`s3-setup ${target.bucket}:\n${lines.join('\n')}\n${summary}\n`);
      if (bad.length > 0)
        fail(
          `not applied: ${bad.map((r) => r.item).join(', ')}`,
          bad.some((r) => r.status === 'failed')
            ? "use credentials that may read and change the bucket's configuration (AWS_PROFILE, …), not the server's"
            : "set these up by the service's own means; `--print` shows what they should say",
          EXIT_FAILED,
        );
    });
}
