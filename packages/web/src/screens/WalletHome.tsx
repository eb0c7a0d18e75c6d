/**
 * Wallet home: the balance and the payments, read from the SQLite database in the page,
 * and a form to add a payment (so a backup and a restore are visibly about real data).
 * @module
 */
import { type FormEvent, useId, useState } from 'react';
import type { WalletStore } from '../wallet/wallet-store.ts';
import { ErrorNotice } from '../ui/components.tsx';
import { formatDateTime, formatSats } from '@noah-backup/client/ui/format';
import { useWallet } from '../ui/use-wallet.ts';

/** Props of {@link WalletHome}. */
export interface WalletHomeProps {
  wallet: WalletStore;
}

/** The wallet home screen. */
export function WalletHome({ wallet }: WalletHomeProps) {
  const { payments, balance } = useWallet(wallet);
  return (
    <>
      <section className="card balance-card" aria-labelledby="balance-title">
        <h2 id="balance-title" className="eyebrow">
          Balance
        </h2>
        <p className="balance" data-testid="balance">
          {formatSats(balance)}
        </p>
        <p className="muted small">
          {payments.length} {payments.length === 1 ? 'payment' : 'payments'} in this wallet's
          database
        </p>
      </section>
      <AddPayment wallet={wallet} />
      <section className="card" aria-labelledby="payments-title">
        <h2 id="payments-title">Payments</h2>
        {payments.length === 0 ? (
          <p className="muted">No payments yet. Add one above to see it here.</p>
        ) : (
          <ul className="payments" aria-label="Payments, newest first">
            {payments.map((p) => (
              <li key={p.id} className="payment">
                <div>
                  <div className="payment-desc">{p.description || 'Payment'}</div>
                  <div className="muted small">{formatDateTime(p.created_at)}</div>
                </div>
                <div className={`payment-amount ${p.amount < 0 ? 'sent' : 'received'}`}>
                  {formatSats(p.amount, true)}
                </div>
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}

function AddPayment({ wallet }: { wallet: WalletStore }) {
  const [direction, setDirection] = useState<'received' | 'sent'>('received');
  const [amount, setAmount] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState('');
  const amountId = useId();
  const descId = useId();
  const hintId = useId();
  const parsed = Number(amount);
  const valid = /^\d{1,12}$/.test(amount.trim()) && parsed > 0;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!valid) return;
    setBusy(true);
    setError(null);
    try {
      const signed = direction === 'sent' ? -parsed : parsed;
      await wallet.addPayment({ amount: signed, description: description.trim() });
      setStatus(`Added ${formatSats(signed, true)}.`);
      setAmount('');
      setDescription('');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card" aria-labelledby="add-title">
      <h2 id="add-title">Add a payment</h2>
      <form className="form add-payment" onSubmit={submit}>
        <fieldset className="segmented">
          <legend className="sr-only">Direction</legend>
          <label>
            <input
              type="radio"
              name="direction"
              value="received"
              checked={direction === 'received'}
              onChange={() => setDirection('received')}
            />
            <span>Received</span>
          </label>
          <label>
            <input
              type="radio"
              name="direction"
              value="sent"
              checked={direction === 'sent'}
              onChange={() => setDirection('sent')}
            />
            <span>Sent</span>
          </label>
        </fieldset>
        <div className="field">
          <label htmlFor={amountId}>Amount (sats)</label>
          <input
            id={amountId}
            inputMode="numeric"
            autoComplete="off"
            value={amount}
            aria-describedby={hintId}
            onChange={(e) => setAmount(e.target.value)}
          />
          <span id={hintId} className="muted small">
            A whole number of satoshis.
          </span>
        </div>
        <div className="field">
          <label htmlFor={descId}>Description</label>
          <input
            id={descId}
            maxLength={200}
            autoComplete="off"
            value={description}
            onChange={(e) => setDescription(e.target.value)}
          />
        </div>
        <button type="submit" className="button primary" disabled={!valid || busy}>
          Add payment
        </button>
      </form>
      <p className="sr-only" aria-live="polite">
        {status}
      </p>
      {error ? <ErrorNotice error={error} /> : null}
    </section>
  );
}
