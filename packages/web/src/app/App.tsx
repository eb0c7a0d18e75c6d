/**
 * The app shell: boots the page's services, runs onboarding until this browser has a
 * wallet, then shows the wallet, settings and backup settings screens (hash routes).
 * One backup worker per seedphrase runs the BackupManager off the main thread.
 * @module
 */
import { AbortedError } from '@noah-backup/client/errors';
import { validateMnemonic } from '@noah-backup/core/keys';
import { type ReactNode, useCallback, useEffect, useRef, useState } from 'react';
import { type BackupWorker, startBackupWorker } from '../backup-worker/remote-manager.ts';
import { BackupSettings } from '../screens/BackupSettings.tsx';
import { EnableBackupsStep, Onboarding, type OnboardingActions } from '../screens/Onboarding.tsx';
import { Settings } from '../screens/Settings.tsx';
import { WalletHome } from '../screens/WalletHome.tsx';
import { ErrorNotice } from '../ui/components.tsx';
import { NoBackupsError } from '@noah-backup/client/ui/describe-error';
import { firstBackupIfDue } from '@noah-backup/client/ui/backup-state';
import { backupTimes } from '@noah-backup/client/ui/format';
import { progressView } from '@noah-backup/client/ui/progress';
import { openServices, type Services } from './services.ts';

type Phase =
  | { k: 'loading' }
  | { k: 'fatal'; error: unknown }
  | { k: 'onboarding' }
  | { k: 'enable'; restored: boolean }
  | { k: 'ready' };

type Route = 'wallet' | 'settings' | 'backups';

const ROUTES: Record<string, Route> = {
  '#/wallet': 'wallet',
  '#/settings': 'settings',
  '#/settings/backups': 'backups',
};
const TITLES: Record<Route, string> = {
  wallet: 'Wallet',
  settings: 'Settings',
  backups: 'Backup settings',
};

const readRoute = (): Route => ROUTES[location.hash] ?? 'wallet';

function useHashRoute(): [Route, (r: Route) => void] {
  const [route, setRoute] = useState<Route>(readRoute);
  useEffect(() => {
    const on = () => setRoute(readRoute());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  const go = (r: Route) => {
    location.hash =
      r === 'wallet' ? '#/wallet' : r === 'settings' ? '#/settings' : '#/settings/backups';
  };
  return [route, go];
}

/** The application. */
export function App() {
  const [services, setServices] = useState<Services | null>(null);
  const [phase, setPhase] = useState<Phase>({ k: 'loading' });
  const [welcome, setWelcome] = useState('');
  const worker = useRef<BackupWorker | null>(null);
  const [, setWorkerVersion] = useState(0);

  const adoptWorker = useCallback((w: BackupWorker | null) => {
    if (worker.current !== w) worker.current?.terminate();
    worker.current = w;
    setWorkerVersion((v) => v + 1);
  }, []);

  useEffect(() => {
    let cancelled = false;
    (async () => {
      const s = await openServices();
      const mnemonic = await s.loadMnemonic();
      if (cancelled) return;
      setServices(s);
      if (mnemonic && s.wallet.exists()) {
        adoptWorker(
          startBackupWorker(
            { mnemonic, serverUrl: s.serverUrl },
            { wallet: s.walletData, state: s.state },
          ),
        );
        setPhase({ k: 'ready' });
      } else setPhase({ k: 'onboarding' });
    })().catch((error) => setPhase({ k: 'fatal', error }));
    return () => {
      cancelled = true;
    };
  }, [adoptWorker]);

  if (phase.k === 'loading')
    return (
      <Frame>
        <p className="muted" aria-live="polite">
          Opening your wallet…
        </p>
      </Frame>
    );
  if (phase.k === 'fatal' || !services)
    return (
      <Frame>
        <ErrorNotice error={phase.k === 'fatal' ? phase.error : null} />
      </Frame>
    );

  const start = (mnemonic: string) =>
    startBackupWorker(
      { mnemonic, serverUrl: services.serverUrl },
      { wallet: services.walletData, state: services.state },
    );

  const actions: OnboardingActions = {
    async create(mnemonic) {
      await services.wallet.create();
      await services.saveMnemonic(mnemonic);
      adoptWorker(start(mnemonic));
      setPhase({ k: 'enable', restored: false });
    },
    async restore(phrase, onProgress, signal) {
      const mnemonic = validateMnemonic(phrase); // InvalidMnemonicError: nothing started
      const stopped = () => {
        if (signal.aborted) throw new AbortedError();
      };
      const w = start(mnemonic);
      const off = w.manager.subscribe((s) => {
        if (s.progress) onProgress(progressView(s.progress));
      });
      try {
        await w.manager.ready;
        stopped();
        onProgress({ label: 'Looking for your backups' });
        const list = await w.manager.listBackups();
        stopped();
        const newest = list[0];
        if (!newest) throw new NoBackupsError();
        // A new device has seen no sequence yet, so the newest backup is no rollback.
        // Once the restore has finished, a late cancel changes nothing: the wallet is here.
        await w.manager.restoreBackup(newest.backup_version, { signal });
        await services.saveMnemonic(mnemonic);
        const n = services.wallet.payments().length;
        const when = backupTimes(list.map((b) => b.created_at))(newest.created_at);
        setWelcome(
          `Welcome back. Restored ${n} ${n === 1 ? 'payment' : 'payments'} from your backup of ${when}.`,
        );
        adoptWorker(w);
        // A new device asks about automatic backups too, as a new wallet does.
        setPhase({ k: 'enable', restored: true });
      } catch (err) {
        w.terminate();
        throw err;
      } finally {
        off();
      }
    },
  };

  if (phase.k === 'onboarding')
    return (
      <Frame>
        <Onboarding actions={actions} />
      </Frame>
    );
  const manager = worker.current?.manager;
  if (!manager)
    return (
      <Frame>
        <p>Starting…</p>
      </Frame>
    );
  if (phase.k === 'enable')
    return (
      <Frame>
        <EnableBackupsStep
          restored={phase.restored}
          turnOn={() => manager.setBackupEnabled(true)}
          turnOff={() => manager.setBackupEnabled(false)}
          firstBackup={async (onProgress) => {
            await firstBackupIfDue(manager, services.clock.now(), onProgress);
          }}
          done={() => setPhase({ k: 'ready' })}
        />
      </Frame>
    );
  return (
    <Main
      services={services}
      worker={worker.current!}
      welcome={welcome}
      onErase={async () => {
        adoptWorker(null);
        await services.eraseDevice();
        setWelcome('');
        location.hash = '';
        setPhase({ k: 'onboarding' });
      }}
    />
  );
}

function Main({
  services,
  worker,
  welcome,
  onErase,
}: {
  services: Services;
  worker: BackupWorker;
  welcome: string;
  onErase(): Promise<void>;
}) {
  const [route, go] = useHashRoute();
  const heading = useRef<HTMLHeadingElement>(null);
  const first = useRef(true);
  // biome-ignore lint/correctness/useExhaustiveDependencies: focus moves on route change
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    heading.current?.focus();
  }, [route]);
  return (
    <Frame nav={<Nav route={route} />}>
      <h1 ref={heading} tabIndex={-1} className="page-title">
        {TITLES[route]}
      </h1>
      {route === 'wallet' ? (
        <>
          {welcome ? (
            <p className="notice ok welcome" role="status">
              {welcome}
            </p>
          ) : null}
          <WalletHome wallet={services.wallet} />
        </>
      ) : route === 'settings' ? (
        <Settings
          manager={worker.manager}
          clock={services.clock}
          onOpenBackups={() => go('backups')}
          onErase={onErase}
        />
      ) : (
        <>
          <a className="back-link" href="#/settings">
            ← Settings
          </a>
          <BackupSettings manager={worker.manager} clock={services.clock} />
        </>
      )}
    </Frame>
  );
}

function Nav({ route }: { route: Route }) {
  const link = (href: string, label: string, active: boolean) => (
    <a href={href} className="nav-link" aria-current={active ? 'page' : undefined}>
      {label}
    </a>
  );
  return (
    <nav aria-label="Main">
      {link('#/wallet', 'Wallet', route === 'wallet')}
      {link('#/settings', 'Settings', route !== 'wallet')}
    </nav>
  );
}

function Frame({ children, nav }: { children: ReactNode; nav?: ReactNode }) {
  return (
    <>
      <button
        type="button"
        className="skip-link"
        onClick={() => document.getElementById('main')?.focus()}
      >
        Skip to content
      </button>
      <header className="topbar">
        <span className="brand">
          <span className="brand-mark" aria-hidden="true">
            N
          </span>
          Noah
        </span>
        {nav}
      </header>
      <main id="main" className="container" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
