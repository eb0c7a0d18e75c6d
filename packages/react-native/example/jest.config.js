// Jest for the React Native tests (test/): React Native's own preset (its environment,
// its mocks of the native modules React Native itself needs), React Native's Babel
// preset for every file, our sources included, and React Testing Library. The SDK runs
// from source as in the app; core's platform is its pure-JavaScript one (`js.ts`), the
// one the Hermes vector run uses, since react-native-quick-crypto is native and cannot
// load here. `npm test` runs this through packages/react-native/test/rn-jest.test.ts,
// which starts the real server the tests talk to.
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..', '..');
const rn = path.join(root, 'packages', 'react-native', 'src');
const own = (name) => path.join(__dirname, 'node_modules', name);

// The tests' wallets run on the SDK's Node ports, whose ES modules read `import.meta.url`
// (createRequire in client/src/node/sqlite.ts); Jest runs CommonJS, so the transform
// turns it into the module's file URL.
const importMetaUrl = ({ types: t }) => ({
  visitor: {
    MetaProperty(p) {
      const url = p.parentPath;
      if (!url.isMemberExpression() || !t.isIdentifier(url.node.property, { name: 'url' })) return;
      url.replaceWith(
        t.memberExpression(
          t.callExpression(
            t.memberExpression(
              t.callExpression(t.identifier('require'), [t.stringLiteral('node:url')]),
              t.identifier('pathToFileURL'),
            ),
            [t.identifier('__filename')],
          ),
          t.identifier('href'),
        ),
      );
    },
  },
});

module.exports = {
  preset: '@react-native/jest-preset',
  rootDir: __dirname,
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts?(x)'],
  setupFilesAfterEnv: ['<rootDir>/test/setup.ts'],
  transform: {
    '^.+\\.(js|jsx|mjs|ts|tsx)$': [
      'babel-jest',
      {
        babelrc: false,
        configFile: false,
        presets: [require.resolve('@react-native/babel-preset')],
        plugins: [importMetaUrl],
      },
    ],
  },
  // ESM packages of the npm registry, compiled like the app's own code.
  transformIgnorePatterns: [
    'node_modules/(?!((jest-)?react-native|@react-native(-community)?|@noble|@scure|@op-engineering|@testing-library|fzstd|pako)/)',
  ],
  // Our sources outside this folder need what the transform adds (@babel/runtime) from here.
  modulePaths: [path.join(__dirname, 'node_modules')],
  moduleNameMapper: {
    // One React: the example's, which react-native and the renderer use too.
    '^react$': own('react'),
    '^react/(.*)$': `${own('react')}/$1`,
    // The SDK's React Native package, as Metro finds it (metro.config.js).
    '^@noah-backup/react-native$': path.join(rn, 'index.ts'),
    '^@noah-backup/react-native/hooks$': path.join(rn, 'hooks', 'use-backup-status.ts'),
    '^@noah-backup/react-native/push$': path.join(rn, 'push', 'index.ts'),
    '^@noah-backup/react-native/ports$': path.join(rn, 'ports', 'index.ts'),
    // op-sqlite's own Node build (over better-sqlite3), as the ports' tests run it
    // (docs/REACT-NATIVE.md §8.4): its JSI module needs a phone.
    '^@op-engineering/op-sqlite$': path.join(
      root,
      'packages',
      'react-native',
      'op-sqlite-node',
      'node_modules',
      '@op-engineering',
      'op-sqlite',
      'node',
      'dist',
      'index.js',
    ),
    '^#platform$': path.join(root, 'packages', 'core', 'src', 'platform', 'js.ts'),
  },
  testTimeout: 60_000,
};
