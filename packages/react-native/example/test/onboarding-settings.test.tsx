/**
 * The example's onboarding step and backup settings screen on a real BackupManager and
 * the real server (React Testing Library): turning backups on makes the first backup;
 * "Not now" turns them off; the settings list the backups, restore one after a
 * confirmation, delete one after a confirmation, and say so in the web app's words.
 */
import { describe, expect, it, jest } from '@jest/globals';
import { fireEvent, render, screen, waitFor } from '@testing-library/react-native';
import { BackupSettings } from '../screens/BackupSettings.tsx';
import { EnableBackupsStep } from '../screens/EnableBackupsStep.tsx';
import { walletsClosedAfterEach } from './wallet.ts';

const wallet = walletsClosedAfterEach();

describe('EnableBackupsStep', () => {
  it('"Turn on backups" turns them on and makes the first backup', async () => {
    const w = await wallet();
    const done = jest.fn();
    await render(<EnableBackupsStep manager={w.manager} done={done} />);
    expect(screen.getByText('Back up automatically?')).toBeTruthy();
    await fireEvent.press(screen.getByRole('button', { name: 'Turn on backups' }));
    await waitFor(() => expect(done).toHaveBeenCalled(), { timeout: 30_000 });
    expect((await w.api.getSettings()).backup_enabled).toBe(true);
    expect((await w.manager.listBackups()).length).toBe(1);
  });

  it('"Not now" turns them off and makes none', async () => {
    const w = await wallet();
    await w.manager.setBackupEnabled(true);
    const done = jest.fn();
    await render(<EnableBackupsStep manager={w.manager} done={done} restored />);
    expect(
      screen.getByText('Your wallet is restored. Keep it backed up from this device.'),
    ).toBeTruthy();
    await fireEvent.press(screen.getByRole('button', { name: 'Not now' }));
    await waitFor(() => expect(done).toHaveBeenCalled());
    expect((await w.api.getSettings()).backup_enabled).toBe(false);
    expect(await w.manager.listBackups()).toEqual([]);
  });

  it('a first backup that fails leaves backups on and says so, with a retry', async () => {
    const w = await wallet({ empty: true });
    const done = jest.fn();
    await render(<EnableBackupsStep manager={w.manager} done={done} />);
    await fireEvent.press(screen.getByRole('button', { name: 'Turn on backups' }));
    await waitFor(() =>
      expect(
        screen.getByText('Automatic backups are on. The first backup did not finish:'),
      ).toBeTruthy(),
    );
    expect(screen.getByText('There is no wallet on this device to back up.')).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Try again' })).toBeTruthy();
    expect(done).not.toHaveBeenCalled();
    expect((await w.api.getSettings()).backup_enabled).toBe(true);
  });
});

describe('BackupSettings', () => {
  it('backs up, lists, restores and deletes, each after a confirmation', async () => {
    const w = await wallet();
    await w.manager.setBackupEnabled(true);
    await render(<BackupSettings manager={w.manager} />);
    await waitFor(() =>
      expect(
        screen.getByText('No backups yet. Use "Back up now" to make the first one.'),
      ).toBeTruthy(),
    );
    await fireEvent.press(screen.getByRole('button', { name: 'Back up now' }));
    await waitFor(() => expect(screen.getByText('Backup complete')).toBeTruthy(), {
      timeout: 30_000,
    });
    await waitFor(() => expect(screen.getAllByTestId('backup-item').length).toBe(1));
    const [backup] = await w.manager.listBackups();

    await fireEvent.press(screen.getByRole('button', { name: /^Restore the backup from / }));
    expect(screen.getByText('Restore this backup?')).toBeTruthy();
    await fireEvent.press(screen.getByRole('button', { name: 'Restore' }));
    await waitFor(() => expect(screen.getByText(/^Restored the backup from /)).toBeTruthy(), {
      timeout: 30_000,
    });
    expect(w.manager.getStatus().restoredFrom?.backupCreatedAt).toBe(backup?.created_at);

    await fireEvent.press(screen.getByRole('button', { name: /^Delete the backup from / }));
    expect(
      screen.getByText(/will be removed from the server\. This cannot be undone\.$/),
    ).toBeTruthy();
    await fireEvent.press(screen.getByRole('button', { name: 'Delete' }));
    await waitFor(() => expect(screen.getByText(/^Deleted the backup from /)).toBeTruthy());
    expect(await w.manager.listBackups()).toEqual([]);
  });

  it('the switch turns automatic backups off', async () => {
    const w = await wallet();
    await w.manager.setBackupEnabled(true);
    await render(<BackupSettings manager={w.manager} />);
    const toggle = screen.getByRole('switch', { name: 'Back up every day' });
    await waitFor(() => expect(toggle.props.value).toBe(true));
    await fireEvent(toggle, 'valueChange', false);
    await waitFor(() => expect(screen.getByText('Automatic backups are off.')).toBeTruthy());
    expect((await w.api.getSettings()).backup_enabled).toBe(false);
  });
});
