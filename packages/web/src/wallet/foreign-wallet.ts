/**
 * The one refusal that is this web wallet's own: a backup made by another kind of
 * wallet.
 * @module
 */
import { NoahError } from '@noah-backup/core/errors';

/**
 * The backup is valid but was made by another kind of wallet (the noah-backup CLI or an
 * app backing up its own data directory): this web wallet cannot use its contents.
 * Never "damaged". The message names no entry and no secret.
 */
export class ForeignWalletError extends NoahError {
  constructor(why: string) {
    super('foreign_wallet', `this backup was made by another kind of wallet: ${why}`);
  }
}
