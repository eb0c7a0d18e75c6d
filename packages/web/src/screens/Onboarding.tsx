/**
 * Onboarding: create a wallet (its seedphrase shown once, confirmed written down) or
 * restore one from a seedphrase, then the "enable automatic backups" step.
 * @module
 */
import { useEnableBackupsFlow } from '@noah-backup/client/react';
import { ENABLE_BACKUPS } from '@noah-backup/client/ui/copy';
import type { EnableBackupsActions } from '@noah-backup/client/ui/enable-backups-flow';
import { NoahError } from '@noah-backup/core/errors';
import { generateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { type FormEvent, useEffect, useId, useRef, useState } from 'react';
import { ErrorNotice, ProgressBar, type ProgressBarProps } from '../ui/components.tsx';

/** What the onboarding asks of the app. */
export interface OnboardingActions {
  /** Creates the wallet for a new seedphrase and stores the seedphrase. */
  create(mnemonic: string): Promise<void>;
  /**
   * Restores the newest backup of `mnemonic`; reports progress; throws a human-mappable
   * error (`aborted` once `signal` aborts: nothing is then kept on this device).
   */
  restore(
    mnemonic: string,
    onProgress: (p: ProgressBarProps) => void,
    signal: AbortSignal,
  ): Promise<void>;
}

type Step = 'welcome' | 'create' | 'restore';

/** Moves focus to a screen's heading when it appears (keyboard and screen-reader users). */
function useFocusHeading<T extends HTMLElement>() {
  const ref = useRef<T>(null);
  useEffect(() => ref.current?.focus(), []);
  return ref;
}

/** The first-run screens. */
export function Onboarding({ actions }: { actions: OnboardingActions }) {
  const [step, setStep] = useState<Step>('welcome');
  if (step === 'create')
    return <CreateWallet actions={actions} onBack={() => setStep('welcome')} />;
  if (step === 'restore')
    return <RestoreWallet actions={actions} onBack={() => setStep('welcome')} />;
  return <Welcome onCreate={() => setStep('create')} onRestore={() => setStep('restore')} />;
}

function Welcome({ onCreate, onRestore }: { onCreate(): void; onRestore(): void }) {
  const h = useFocusHeading<HTMLHeadingElement>();
  return (
    <section className="card hero" aria-labelledby="welcome-title">
      <h1 id="welcome-title" ref={h} tabIndex={-1}>
        Your wallet, backed up
      </h1>
      <p>
        Noah keeps an encrypted copy of your wallet's data on a backup server. It is encrypted on
        this device with a key made from your seedphrase: the server never sees your payments. Lose
        this device, and your seedphrase brings everything back.
      </p>
      <div className="actions stack">
        <button type="button" className="button primary" onClick={onCreate}>
          Create a new wallet
        </button>
        <button type="button" className="button secondary" onClick={onRestore}>
          Restore from a seedphrase
        </button>
      </div>
    </section>
  );
}

function CreateWallet({ actions, onBack }: { actions: OnboardingActions; onBack(): void }) {
  // Generated once per visit of this screen and never stored before the user confirms.
  const [mnemonic] = useState(() => generateMnemonic(wordlist, 128));
  const [confirmed, setConfirmed] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const h = useFocusHeading<HTMLHeadingElement>();
  const checkId = useId();
  const words = mnemonic.split(' ');

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await actions.create(mnemonic);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <section className="card" aria-labelledby="seed-title">
      <h1 id="seed-title" ref={h} tabIndex={-1}>
        Your seedphrase
      </h1>
      <p>
        These {words.length} words are the only way to restore your wallet and its backups. Write
        them on paper, in order, and keep it somewhere safe. Noah shows them only once.
      </p>
      <ol className="seed-grid" aria-label="Your seedphrase" data-testid="seedphrase">
        {words.map((w, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: a word may repeat; position is its identity
          <li key={i}>
            <span className="seed-index" aria-hidden="true">
              {i + 1}
            </span>
            <span className="seed-word">{w}</span>
          </li>
        ))}
      </ol>
      <form className="form" onSubmit={submit}>
        <div className="check">
          <input
            id={checkId}
            type="checkbox"
            checked={confirmed}
            onChange={(e) => setConfirmed(e.target.checked)}
          />
          <label htmlFor={checkId}>I wrote down these {words.length} words, in order</label>
        </div>
        <div className="actions">
          <button type="button" className="button secondary" onClick={onBack} disabled={busy}>
            Back
          </button>
          <button type="submit" className="button primary" disabled={!confirmed || busy}>
            Continue
          </button>
        </div>
      </form>
      {error ? <ErrorNotice error={error} /> : null}
    </section>
  );
}

function RestoreWallet({ actions, onBack }: { actions: OnboardingActions; onBack(): void }) {
  const [phrase, setPhrase] = useState('');
  const [busy, setBusy] = useState(false);
  const [progress, setProgress] = useState<ProgressBarProps | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState('');
  /** Aborts the restore in progress (the Cancel button). */
  const [running, setRunning] = useState<AbortController | null>(null);
  const h = useFocusHeading<HTMLHeadingElement>();
  const fieldId = useId();
  const hintId = useId();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const controller = new AbortController();
    setRunning(controller);
    setBusy(true);
    setError(null);
    setNotice('');
    setProgress({ label: 'Checking your seedphrase' });
    try {
      await actions.restore(phrase, setProgress, controller.signal);
    } catch (err) {
      if (err instanceof NoahError && err.code === 'aborted')
        setNotice('Restore cancelled. Nothing was kept on this device.');
      else setError(err);
      setProgress(null);
      setBusy(false);
    } finally {
      setRunning(null);
    }
  };

  return (
    <section className="card" aria-labelledby="restore-title">
      <h1 id="restore-title" ref={h} tabIndex={-1}>
        Restore your wallet
      </h1>
      <p>
        Type the 12 or 24 words you wrote down when you created your wallet. Noah finds your newest
        backup, decrypts it on this device and restores your payments.
      </p>
      <form className="form" onSubmit={submit} aria-busy={busy}>
        <div className="field">
          <label htmlFor={fieldId}>Seedphrase</label>
          <textarea
            id={fieldId}
            rows={3}
            value={phrase}
            spellCheck={false}
            autoCapitalize="none"
            autoComplete="off"
            autoCorrect="off"
            aria-describedby={hintId}
            aria-invalid={error ? true : undefined}
            onChange={(e) => setPhrase(e.target.value)}
            disabled={busy}
          />
          <span id={hintId} className="muted small">
            Words separated by spaces, in order.
          </span>
        </div>
        <div className="actions">
          <button type="button" className="button secondary" onClick={onBack} disabled={busy}>
            Back
          </button>
          <button type="submit" className="button primary" disabled={busy || phrase.trim() === ''}>
            Restore wallet
          </button>
        </div>
      </form>
      {progress ? <ProgressBar {...progress} /> : null}
      {running && busy ? (
        <button type="button" className="button secondary" onClick={() => running.abort()}>
          Cancel restore
        </button>
      ) : null}
      <div role="status">{notice ? <p className="notice ok">{notice}</p> : null}</div>
      {error ? <ErrorNotice error={error} /> : null}
    </section>
  );
}

/** Props of {@link EnableBackupsStep}. */
export interface EnableBackupsStepProps extends EnableBackupsActions {
  /** After a restore: the wallet just came back from a backup. */
  restored?: boolean;
}

/**
 * The onboarding step that turns on automatic backups, after creating a wallet or
 * restoring one. Saying yes makes the first backup at once when one is due, with its
 * progress here; a failure of that backup leaves backups on and says so, with a retry
 * (the shared flow, `ui/enable-backups-flow.ts`; this draws it).
 */
export function EnableBackupsStep({ restored, ...actions }: EnableBackupsStepProps) {
  const [flow, { busy, on, progress, error }] = useEnableBackupsFlow(actions);
  const { done } = actions;
  const { run, notNow } = flow;
  const h = useFocusHeading<HTMLHeadingElement>();
  return (
    <section className="card" aria-labelledby="enable-title">
      <h1 id="enable-title" ref={h} tabIndex={-1}>
        {ENABLE_BACKUPS.title}
      </h1>
      {restored ? <p>{ENABLE_BACKUPS.restored}</p> : null}
      <ul className="bullets">
        {ENABLE_BACKUPS.points.map((point) => (
          <li key={point}>{point}</li>
        ))}
      </ul>
      {progress ? (
        <div className="progress-area" data-testid="first-backup-progress">
          <ProgressBar {...progress} />
        </div>
      ) : null}
      {on && error ? (
        <p className="notice ok" role="status">
          {ENABLE_BACKUPS.onButFailed}
        </p>
      ) : null}
      {error ? <ErrorNotice error={error} /> : null}
      <div className="actions">
        {on ? (
          <>
            <button type="button" className="button secondary" onClick={done} disabled={busy}>
              {ENABLE_BACKUPS.continue}
            </button>
            <button type="button" className="button primary" onClick={run} disabled={busy}>
              {ENABLE_BACKUPS.tryAgain}
            </button>
          </>
        ) : (
          <>
            <button type="button" className="button secondary" onClick={notNow} disabled={busy}>
              {ENABLE_BACKUPS.notNow}
            </button>
            <button type="button" className="button primary" onClick={run} disabled={busy}>
              {ENABLE_BACKUPS.turnOn}
            </button>
          </>
        )}
      </div>
    </section>
  );
}
