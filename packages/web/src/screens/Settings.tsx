/**
 * The settings screen: the backup status card, and removing the wallet from this
 * browser (to try a restore as if on a new device).
 * @module
 */
import type { BackupManager } from '@noah-backup/client/manager';
import type { Clock } from '@noah-backup/core/clock';
import { useState } from 'react';
import { ConfirmDialog, ErrorNotice } from '../ui/components.tsx';
import { StatusCard } from './StatusCard.tsx';

/** Props of {@link Settings}. */
export interface SettingsProps {
  manager: BackupManager;
  clock: Clock;
  onOpenBackups(): void;
  /** Deletes the wallet and its seedphrase from this browser. */
  onErase(): Promise<void>;
}

/** The settings screen. */
export function Settings({ manager, clock, onOpenBackups, onErase }: SettingsProps) {
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const erase = async () => {
    setConfirming(false);
    try {
      await onErase();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <>
      <StatusCard manager={manager} clock={clock} onOpenSettings={onOpenBackups} />
      <section className="card" aria-labelledby="device-title">
        <h2 id="device-title">This device</h2>
        <p className="muted">
          Removing the wallet deletes its database and seedphrase from this browser. Your backups
          stay on the server: restore them with your seedphrase, here or on another device.
        </p>
        <button type="button" className="button ghost-danger" onClick={() => setConfirming(true)}>
          Remove from this browser
        </button>
        {error ? <ErrorNotice error={error} /> : null}
      </section>
      <ConfirmDialog
        open={confirming}
        title="Remove this wallet?"
        confirmLabel="Remove wallet"
        danger
        onConfirm={erase}
        onCancel={() => setConfirming(false)}
      >
        <p>
          Without your seedphrase you cannot get it back. Make sure you have written it down and
          that a recent backup exists.
        </p>
      </ConfirmDialog>
    </>
  );
}
