/**
 * The self-test screen: the on-device self-test of @noah-backup/react-native
 * (docs/REACT-NATIVE.md), filling in as each check finishes.
 */
import { runSelfTest, type SelfTestResult } from '@noah-backup/react-native';
import { useEffect, useState } from 'react';
import { SafeAreaView, ScrollView, StyleSheet, Text, View } from 'react-native';

export function SelfTest() {
  const [results, setResults] = useState<SelfTestResult[]>([]);
  const [done, setDone] = useState(false);
  useEffect(() => {
    let live = true;
    runSelfTest({ onResult: (r) => live && setResults((rs) => [...rs, r]) }).then(
      () => live && setDone(true),
    );
    return () => {
      live = false;
    };
  }, []);
  return (
    <SafeAreaView style={styles.screen}>
      <ScrollView contentContainerStyle={styles.list}>
        <Text style={styles.title}>Noah Backup on this device</Text>
        {results.map((r) => (
          <View key={r.name} style={styles.row}>
            <Text style={r.ok ? styles.ok : styles.failed}>{r.ok ? 'ok' : 'FAILED'}</Text>
            <View style={styles.body}>
              <Text style={styles.name}>
                {r.name} · {r.ms} ms
              </Text>
              <Text style={styles.detail}>{r.detail}</Text>
            </View>
          </View>
        ))}
        <Text style={styles.detail}>{done ? 'Done.' : 'Checking…'}</Text>
      </ScrollView>
    </SafeAreaView>
  );
}

const styles = StyleSheet.create({
  screen: { flex: 1, backgroundColor: '#fff' },
  list: { padding: 16, gap: 12 },
  title: { fontSize: 20, fontWeight: '600' },
  row: { flexDirection: 'row', gap: 12 },
  body: { flex: 1 },
  ok: { width: 56, color: '#1a7f37', fontWeight: '600' },
  failed: { width: 56, color: '#cf222e', fontWeight: '600' },
  name: { fontSize: 15 },
  detail: { fontSize: 13, color: '#57606a' },
});
