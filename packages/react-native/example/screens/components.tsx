/**
 * The few building blocks the example's backup screens share: a button, a progress bar
 * (the phase's sentence, its bytes, its fill) and an error notice (what happened, what
 * to do next, the code), all worded by `@noah-backup/client/ui` like the web app's.
 */
import { describeError } from '@noah-backup/client/ui/describe-error';
import { type ProgressView, progressAmount } from '@noah-backup/client/ui/progress';
import type { ReactNode } from 'react';
import { Pressable, StyleSheet, Text, View } from 'react-native';

export function Button(props: {
  label: string;
  onPress(): void;
  disabled?: boolean;
  kind?: 'primary' | 'secondary' | 'danger';
  accessibilityLabel?: string;
}) {
  const kind = props.kind ?? 'primary';
  return (
    <Pressable
      accessibilityRole="button"
      accessibilityLabel={props.accessibilityLabel ?? props.label}
      accessibilityState={{ disabled: props.disabled === true }}
      disabled={props.disabled}
      onPress={props.onPress}
      style={[styles.button, styles[kind], props.disabled ? styles.disabled : null]}
    >
      <Text style={kind === 'primary' ? styles.primaryText : styles.buttonText}>{props.label}</Text>
    </Pressable>
  );
}

export function ProgressBar({ label, bytes, percent }: ProgressView) {
  const amount = progressAmount(bytes);
  const pct = percent === undefined ? undefined : Math.max(0, Math.min(100, Math.round(percent)));
  return (
    <View
      accessible
      accessibilityRole="progressbar"
      accessibilityLabel={label}
      accessibilityValue={pct === undefined ? {} : { min: 0, max: 100, now: pct }}
      style={styles.progress}
    >
      <Text style={styles.label}>{label}</Text>
      <View style={styles.track}>
        <View
          style={[styles.fill, { width: `${pct ?? 100}%` }, pct === undefined && styles.busy]}
        />
      </View>
      {amount ? <Text style={styles.muted}>{amount}</Text> : null}
    </View>
  );
}

export function ErrorNotice(props: {
  error: unknown;
  action?: { label: string; onPress(): void } | undefined;
}) {
  const { title, next, code } = describeError(props.error);
  return (
    <View accessibilityRole="alert" style={[styles.notice, styles.bad]}>
      <Text style={styles.noticeTitle}>{title}</Text>
      <Text>{next}</Text>
      <Text style={styles.muted}>{code}</Text>
      {props.action ? (
        <Button label={props.action.label} onPress={props.action.onPress} kind="secondary" />
      ) : null}
    </View>
  );
}

export function Notice(props: { tone: 'ok' | 'warn'; title?: string; children?: ReactNode }) {
  return (
    <View accessibilityRole="summary" style={[styles.notice, styles[props.tone]]}>
      {props.title ? <Text style={styles.noticeTitle}>{props.title}</Text> : null}
      {typeof props.children === 'string' ? <Text>{props.children}</Text> : props.children}
    </View>
  );
}

export function Card(props: { children: ReactNode; tone?: 'ok' | 'warn' | 'bad' | 'busy' }) {
  return (
    <View style={[styles.card, props.tone ? styles[`card_${props.tone}`] : null]}>
      {props.children}
    </View>
  );
}

export const styles = StyleSheet.create({
  card: { padding: 16, gap: 10, borderRadius: 12, borderWidth: 1, borderColor: '#d0d7de' },
  card_ok: { borderColor: '#1a7f37' },
  card_warn: { borderColor: '#9a6700' },
  card_bad: { borderColor: '#cf222e' },
  card_busy: { borderColor: '#0969da' },
  title: { fontSize: 20, fontWeight: '600' },
  heading: { fontSize: 17, fontWeight: '600' },
  label: { fontSize: 15 },
  muted: { fontSize: 13, color: '#57606a' },
  row: { flexDirection: 'row', gap: 8, alignItems: 'center', justifyContent: 'space-between' },
  button: { paddingVertical: 10, paddingHorizontal: 14, borderRadius: 8, alignItems: 'center' },
  primary: { backgroundColor: '#0969da' },
  secondary: { borderWidth: 1, borderColor: '#d0d7de' },
  danger: { borderWidth: 1, borderColor: '#cf222e' },
  disabled: { opacity: 0.5 },
  primaryText: { color: '#fff', fontWeight: '600' },
  buttonText: { fontWeight: '600' },
  progress: { gap: 4 },
  track: { height: 6, borderRadius: 3, backgroundColor: '#eaeef2', overflow: 'hidden' },
  fill: { height: 6, backgroundColor: '#0969da' },
  busy: { opacity: 0.4 },
  notice: { padding: 10, borderRadius: 8, gap: 4 },
  noticeTitle: { fontWeight: '600' },
  ok: { backgroundColor: '#dafbe1' },
  warn: { backgroundColor: '#fff8c5' },
  bad: { backgroundColor: '#ffebe9' },
});
