/**
 * A device without a wallet: create one (a new seedphrase, kept in secure storage and
 * shown once to be written down) or restore one by typing its seedphrase
 * (docs/REACT-NATIVE.md §6 steps 2 and 6). The SDK never stores the words: the app does.
 */
import { useState } from 'react';
import { Text, TextInput, View } from 'react-native';
import { createSeedphrase, restoreSeedphrase, type SecureStoreModule } from '../wallet-services.ts';
import { Button, Card, ErrorNotice, Notice, styles } from './components.tsx';

const SHOWN_ONCE =
  'They are the only way to restore this wallet and its backups on a new phone. They are not shown again.';

export interface WalletSetupProps {
  secureStore: SecureStoreModule;
  /** The new wallet's words are written down: open it. */
  onCreated(): void;
  /** A typed seedphrase is stored: open the wallet and restore its backup. */
  onRestore(): void;
}

export function WalletSetup({ secureStore, onCreated, onRestore }: WalletSetupProps) {
  const [words, setWords] = useState<string | null>(null);
  const [typing, setTyping] = useState(false);
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<unknown>(null);
  const attempt = (run: () => Promise<void>) => () => {
    setError(null);
    run().catch(setError);
  };

  if (words !== null)
    return (
      <Card tone="warn">
        <Text accessibilityRole="header" style={styles.heading}>
          Your seedphrase
        </Text>
        <Notice tone="warn" title="Write these words down, in order.">
          {SHOWN_ONCE}
        </Notice>
        <Text selectable testID="seedphrase" style={styles.label}>
          {words}
        </Text>
        <Button
          label="I have written them down"
          onPress={() => {
            setWords(null);
            onCreated();
          }}
        />
      </Card>
    );

  return (
    <Card>
      <Text accessibilityRole="header" style={styles.heading}>
        No wallet on this device yet
      </Text>
      {typing ? (
        <View style={{ gap: 8 }}>
          <TextInput
            accessibilityLabel="Seedphrase"
            autoCapitalize="none"
            autoCorrect={false}
            secureTextEntry
            multiline={false}
            value={typed}
            onChangeText={setTyped}
            style={styles.notice}
          />
          <Button
            label="Restore"
            disabled={typed.trim() === ''}
            onPress={attempt(async () => {
              await restoreSeedphrase(secureStore, typed);
              setTyped('');
              onRestore();
            })}
          />
          <Button label="Back" kind="secondary" onPress={() => setTyping(false)} />
        </View>
      ) : (
        <>
          <Button
            label="Create a new wallet"
            onPress={attempt(async () => setWords(await createSeedphrase(secureStore)))}
          />
          <Button
            label="Restore from a seedphrase"
            kind="secondary"
            onPress={() => setTyping(true)}
          />
        </>
      )}
      {error ? <ErrorNotice error={error} /> : null}
    </Card>
  );
}
