/**
 * Small accessible building blocks shared by the screens: a progress bar with a live
 * label, a modal confirmation dialog (native `<dialog>`: focus trap, Escape), a switch,
 * and an error notice that reads its sentence and next step.
 * @module
 */
import { type ReactNode, useEffect, useId, useRef } from 'react';
import { describeError } from '@noah-backup/client/ui/describe-error';
import { progressAmount } from '@noah-backup/client/ui/progress';

/** Props of {@link ProgressBar}. */
export interface ProgressBarProps {
  /** What is happening, e.g. "Encrypting". */
  label: string;
  /** Bytes done, and the total when known. */
  bytes?: { done: number; total?: number | undefined } | undefined;
  /** 0–100, or undefined while indeterminate. */
  percent?: number | undefined;
}

/**
 * A determinate or indeterminate progress bar (`role="progressbar"`) with a visible,
 * politely announced phase label, and the bytes under it ("3.0 KiB of 12.0 KiB", the
 * figures the fill is made of).
 */
export function ProgressBar({ label, bytes, percent }: ProgressBarProps) {
  const id = useId();
  const pct = percent === undefined ? undefined : Math.max(0, Math.min(100, Math.round(percent)));
  const amount = progressAmount(bytes);
  return (
    <div className="progress">
      <div className="progress-text" id={id} aria-live="polite">
        {label}
      </div>
      <div
        className={`progress-track${pct === undefined ? ' indeterminate' : ''}`}
        role="progressbar"
        aria-labelledby={id}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct}
        aria-valuetext={pct === undefined ? label : `${label}, ${pct}%`}
      >
        <div
          className="progress-fill"
          style={pct === undefined ? undefined : { width: `${pct}%` }}
        />
      </div>
      {amount ? (
        <div className="progress-bytes muted small" data-testid="progress-bytes">
          {amount}
        </div>
      ) : null}
    </div>
  );
}

/** Props of {@link ConfirmDialog}. */
export interface ConfirmDialogProps {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  /** Style the confirm button as destructive. */
  danger?: boolean;
  onConfirm(): void;
  onCancel(): void;
}

/**
 * A modal confirmation (native `<dialog>` with `showModal`: the browser traps focus and
 * Escape cancels). Focus starts on Cancel, the safe choice.
 */
export function ConfirmDialog(props: ConfirmDialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const cancelRef = useRef<HTMLButtonElement>(null);
  const titleId = useId();
  const bodyId = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) {
      d.showModal();
      cancelRef.current?.focus();
    } else if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby={titleId}
      aria-describedby={bodyId}
      onCancel={(e) => {
        e.preventDefault();
        props.onCancel();
      }}
    >
      <h2 id={titleId}>{props.title}</h2>
      <div id={bodyId}>{props.children}</div>
      <div className="actions">
        <button type="button" ref={cancelRef} className="button secondary" onClick={props.onCancel}>
          Cancel
        </button>
        <button
          type="button"
          className={`button ${props.danger ? 'danger' : 'primary'}`}
          onClick={props.onConfirm}
        >
          {props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

/** Props of {@link Switch}. */
export interface SwitchProps {
  label: string;
  description?: string;
  checked: boolean;
  disabled?: boolean;
  onChange(checked: boolean): void;
}

/** An on/off switch (`role="switch"`), operable with Space and Enter like a button. */
export function Switch({ label, description, checked, disabled, onChange }: SwitchProps) {
  const labelId = useId();
  const descId = useId();
  return (
    <div className="switch-row">
      <div>
        <div id={labelId} className="switch-label">
          {label}
        </div>
        {description ? (
          <div id={descId} className="muted small">
            {description}
          </div>
        ) : null}
      </div>
      <button
        type="button"
        role="switch"
        aria-checked={checked}
        aria-labelledby={labelId}
        aria-describedby={description ? descId : undefined}
        className="switch"
        disabled={disabled}
        onClick={() => onChange(!checked)}
      >
        <span className="switch-thumb" />
      </button>
    </div>
  );
}

/** Props of {@link ErrorNotice}. */
export interface ErrorNoticeProps {
  error: unknown;
  /** An action such as "Try again". */
  action?: { label: string; onClick(): void } | undefined;
}

/** An error as a sentence and a next step, announced at once (`role="alert"`). */
export function ErrorNotice({ error, action }: ErrorNoticeProps) {
  const h = describeError(error);
  return (
    <div className="notice error" role="alert">
      <p className="notice-title">{h.title}</p>
      <p>{h.next}</p>
      <div className="notice-footer">
        {action ? (
          <button type="button" className="button secondary" onClick={action.onClick}>
            {action.label}
          </button>
        ) : null}
        <span className="muted small">Error code: {h.code}</span>
      </div>
    </div>
  );
}
