/**
 * The example's backup screens and the hooks under them, rendered with React Native's
 * test renderer (React Testing Library), each on a real BackupManager backing up to the
 * real server: the words are the web app's (`@noah-backup/client/ui`), and what they say
 * follows what the manager did.
 */
import { describe, expect, it } from '@jest/globals';
import { manualClock } from '@noah-backup/core/clock';
import { useBackupStatus } from '@noah-backup/react-native/hooks';
import type { ProgressEvent } from '@noah-backup/client/status';
import { progressView } from '@noah-backup/client/ui/progress';
import { act, fireEvent, render, renderHook, screen, waitFor } from '@testing-library/react-native';
import { StatusCard } from '../screens/StatusCard.tsx';
import { walletsClosedAfterEach } from './wallet.ts';

/**
 * What fetch rejects with once aborted: an `AbortError`. Made in the test's own realm
 * (Node's DOMException belongs to another one inside Jest's sandbox, where the SDK's
 * `instanceof Error` would not know it; React Native's fetch rejects with an Error).
 */
const abortError = () =>
  Object.assign(new Error('The operation was aborted.'), { name: 'AbortError' });

const wallet = walletsClosedAfterEach();

describe('StatusCard', () => {
  it('recommends a first backup, makes it, then says when', async () => {
    const w = await wallet();
    await w.manager.setBackupEnabled(true);
    await render(<StatusCard manager={w.manager} onOpenSettings={() => {}} />);
    expect(
      screen.getByText('Backup recommended: this wallet has never been backed up.'),
    ).toBeTruthy();
    await waitFor(() => expect(screen.getByText('Automatic backups on')).toBeTruthy());
    await fireEvent.press(screen.getByRole('button', { name: 'Back up now' }));
    await waitFor(() => expect(screen.getByText('Backed up just now')).toBeTruthy(), {
      timeout: 30_000,
    });
    expect((await w.manager.listBackups()).length).toBe(1);
  });
});

describe('StatusCard and the last verification', () => {
  it('says when the backup was verified, and warns once that is over a week ago', async () => {
    const w = await wallet();
    await w.manager.triggerBackup();
    await render(<StatusCard manager={w.manager} onOpenSettings={() => {}} />);
    await screen.findByText('Backed up just now');
    // The manager checks the newest backup after making it (docs/API.md "Verification").
    expect(
      await screen.findByText('Verified just now: the backup decrypts and restores.'),
    ).toBeTruthy();

    // The same device eight days on: the web card's warning, in the card's own words.
    const later = manualClock(Date.now() + 8 * 86_400_000);
    await render(<StatusCard manager={w.manager} clock={later} onOpenSettings={() => {}} />);
    expect(
      await screen.findByText('Last verified 8 days ago: longer ago than a week.'),
    ).toBeTruthy();
    expect(screen.getByText('Back up now: the app then checks the newest backup.')).toBeTruthy();
  });
});

/** A network whose uploads hang until aborted while `stuck.on`. */
const stuckNetwork = (stuck: { on: boolean }) => async (url: string, init?: RequestInit) => {
  if (stuck.on && init?.method === 'PUT')
    return new Promise<Response>((_, reject) =>
      init.signal?.addEventListener('abort', () => reject(abortError())),
    );
  return fetch(url, init);
};

describe('StatusCard while backing up and after a failure', () => {
  it('shows the phase live, then the failure in words with a retry that works', async () => {
    const stuck = { on: true };
    const w = await wallet({ fetch: stuckNetwork(stuck) });
    await w.manager.setBackupEnabled(true);
    await render(<StatusCard manager={w.manager} onOpenSettings={() => {}} />);
    const controller = new AbortController();
    const run = w.manager.triggerBackup({ signal: controller.signal }).catch((e: unknown) => e);
    // The bar names the manager's phase as it is now (the web app's sentence for it).
    await waitFor(() => expect(w.manager.getSnapshot().progress).not.toBeNull());
    await waitFor(() => {
      const progress = w.manager.getSnapshot().progress;
      expect(progress).not.toBeNull();
      const label = progressView(progress as ProgressEvent).label;
      expect(screen.getByRole('progressbar', { name: label })).toBeTruthy();
    });
    controller.abort();
    await run;
    await waitFor(() => expect(screen.getByText('Your last backup did not finish.')).toBeTruthy());
    expect(screen.getByText('The operation was cancelled.')).toBeTruthy();
    stuck.on = false;
    await fireEvent.press(screen.getByRole('button', { name: 'Retry backup' }));
    await waitFor(() => expect(screen.getByText('Backed up just now')).toBeTruthy(), {
      timeout: 30_000,
    });
  });
});

describe('useBackupStatus', () => {
  it('re-reads the settings when the app returns to the foreground', async () => {
    const w = await wallet();
    await w.manager.setBackupEnabled(true);
    const listeners = new Set<(s: string) => void>();
    const appState = {
      addEventListener: (_: 'change', l: (s: string) => void) => {
        listeners.add(l);
        return { remove: () => void listeners.delete(l) };
      },
    };
    const clock = manualClock(Date.parse('2026-05-01T10:00:00Z'));
    const { result } = await renderHook(() => useBackupStatus(w.manager, { clock, appState }));
    await waitFor(() => expect(result.current.badge).toBe('Automatic backups on'));
    expect(result.current.view).toEqual({
      kind: 'never',
      tone: 'warn',
      line: 'Backup recommended: this wallet has never been backed up.',
    });
    // Another device of the wallet turns automatic backups off meanwhile.
    await w.api.setSettings({ backup_enabled: false });
    expect(result.current.badge).toBe('Automatic backups on');
    await act(async () => {
      for (const l of listeners) l('active');
    });
    await waitFor(() => expect(result.current.badge).toBe('Automatic backups off'));
    expect(result.current.isBackupEnabled).toBe(false);
  });
});
